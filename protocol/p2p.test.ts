import { describe, expect, it } from 'vitest'
import { generateDeviceKey } from './sign-request.ts'
import { BandwidthReceipt, PeerAnnouncement, signReceipt, verifyReceipt, type BandwidthReceiptBody } from './p2p.ts'
import { deviceOfPeerId, peerIdOfDevice } from './peer-id.ts'

describe('peer identity', () => {
  it('derives the libp2p peer id from the device key and back', async () => {
    const { deviceId } = await generateDeviceKey()
    const peerId = peerIdOfDevice(deviceId)
    expect(peerId).toMatch(/^12D3KooW/)
    expect(deviceOfPeerId(peerId)).toBe(deviceId)
    expect(deviceOfPeerId('not-a-peer')).toBeUndefined()
    expect(() => peerIdOfDevice('short')).toThrow(/not a device id/)
  })
})

describe('bandwidth receipts', () => {
  it('verify only with the receiver\'s signature over the exact body', async () => {
    const receiver = await generateDeviceKey()
    const server = await generateDeviceKey()
    const body: BandwidthReceiptBody = {
      v: 1,
      receiptId: crypto.randomUUID(),
      receiver: receiver.deviceId,
      server: server.deviceId,
      blob: 'a'.repeat(64),
      bytes: 1024,
      unitId: 'u1',
      at: Date.now(),
    }
    const receipt = await signReceipt(body, receiver.privateKey)
    expect(BandwidthReceipt.safeParse(receipt).success).toBe(true)
    expect(await verifyReceipt(receipt)).toBe(true)
    expect(await verifyReceipt({ ...receipt, body: { ...body, bytes: 1025 } })).toBe(false)
    expect(await verifyReceipt({ ...receipt, body: { ...body, receiver: server.deviceId } })).toBe(false)
    const forged = await signReceipt(body, server.privateKey)
    expect(await verifyReceipt(forged)).toBe(false)
  })

  it('rejects announcements that carry anything beyond jobs, blobs and addresses', () => {
    const ok = { v: 1, jobs: ['j1'], blobs: ['b'.repeat(64)], addrs: ['/ip4/127.0.0.1/tcp/1/ws/p2p/x/p2p-circuit'] }
    expect(PeerAnnouncement.safeParse(ok).success).toBe(true)
    expect(PeerAnnouncement.safeParse({ ...ok, wallet: '0xabc' }).success).toBe(false)
    expect(PeerAnnouncement.safeParse({ ...ok, blobs: Array(129).fill('b'.repeat(64)) }).success).toBe(false)
  })
})
