/**
 * Bandwidth receipts over HTTP against a real hub: volunteers with real device keys lease units, sign receipts for
 * input blobs "served" by another volunteer, and the hub credits the SERVER 8 flops per byte, once, by the rules.
 * Every test here runs on 127.0.0.1, so the same-network rule is off (as in the e2e tests) except where it is tested.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BANDWIDTH_FLOPS_PER_BYTE, signReceipt, type BandwidthReceipt } from '../../protocol/p2p.ts'
import type { CreditHistory, LeasedUnit, VolunteerSummary } from '../../protocol/schemas.ts'
import { startTestHub, Volunteer, type TestHub } from '../test-helpers.ts'
import { networkOf } from './network.ts'

let t: TestHub

beforeAll(async () => {
  t = await startTestHub({ receipts: { allowSameNetwork: true } })
})

afterAll(async () => {
  await t.close()
})

interface Scene {
  hub: TestHub
  receiver: Volunteer
  server: Volunteer
  unit: LeasedUnit
  /** Byte sizes of the unit's inputs, by hash. */
  sizes: Map<string, number>
}

/** A receiver holding a lease on a fresh one-unit job, and a server the hub knows (it has called once). */
async function scene(hub: TestHub = t, seed = Math.floor(Math.random() * 1e6)): Promise<Scene> {
  await hub.createMatmulJob({ m: 32, n: 32, k: 48, tile: 32, seed })
  const receiver = await Volunteer.create(hub.url)
  const server = await Volunteer.create(hub.url)
  const [unit] = await receiver.lease(1)
  await server.json('/volunteer/summary')
  const sizes = new Map<string, number>()
  for (const hash of unit.inputs) sizes.set(hash, (await (await fetch(`${hub.url}/api/v1/blobs/${hash}`)).arrayBuffer()).byteLength)
  return { hub, receiver, server, unit, sizes }
}

/** A receipt from the scene's receiver for the unit's first input, served by the scene's server. */
function receiptFor({ receiver, server, unit, sizes }: Scene, blob = unit.inputs[0]): Promise<BandwidthReceipt> {
  return receiver.receipt({ server: server.deviceId, blob, bytes: sizes.get(blob)!, unitId: unit.unitId })
}

const summary = (v: Volunteer) => v.json<VolunteerSummary>('/volunteer/summary')
const ledgerRows = async (hub: TestHub = t) => (await hub.hub.store.counts()).ledger

describe('POST /api/v1/receipts', () => {
  it('credits the server bytes × 8 flops in one ledger row, and nobody else', async () => {
    const s = await scene()
    const bytes = s.sizes.get(s.unit.inputs[0])!
    const before = await ledgerRows()
    const receipt = await receiptFor(s)

    const ack = await s.receiver.submitReceipts([receipt])
    expect(ack).toEqual({ results: [{ receiptId: receipt.body.receiptId, state: 'credited', creditFlops: bytes * BANDWIDTH_FLOPS_PER_BYTE }] })
    expect(await ledgerRows()).toBe(before + 1)

    expect(await summary(s.server)).toMatchObject({
      creditFlops: bytes * 8,
      bandwidth: { servedBytes: bytes, creditFlops: bytes * 8 },
      results: { returned: 0, valid: 0, invalid: 0 },
    })
    expect(await summary(s.receiver)).toMatchObject({ creditFlops: 0, bandwidth: { servedBytes: 0, creditFlops: 0 } })
    const history = await s.server.json<CreditHistory>('/volunteer/credit')
    expect(history.entries).toEqual([{ at: expect.any(Number), creditFlops: bytes * 8, kind: 'bandwidth' }])
    expect((await s.receiver.json<CreditHistory>('/volunteer/credit')).entries).toEqual([])
  })

  it('accepts the receipt from the server too (the receiver signed it), but from nobody else', async () => {
    const s = await scene()
    const byServer = await s.server.submitReceipts([await receiptFor(s)])
    expect(byServer.results[0].state).toBe('credited')

    const bystander = await Volunteer.create(t.url)
    const other = await receiptFor(s, s.unit.inputs[1])
    const ack = await bystander.submitReceipts([other])
    expect(ack.results[0]).toMatchObject({ state: 'refused', creditFlops: 0, reason: expect.stringMatching(/only the receiver or the server/) })
  })

  it('answers a re-sent receipt id as a duplicate and credits it once', async () => {
    const s = await scene()
    const receipt = await receiptFor(s)
    const first = await s.receiver.submitReceipts([receipt])
    const rows = await ledgerRows()
    const again = await s.receiver.submitReceipts([receipt])
    expect(again.results[0]).toEqual({ receiptId: receipt.body.receiptId, state: 'duplicate', creditFlops: first.results[0].creditFlops })
    // Both in one batch, too.
    const both = await s.server.submitReceipts([receipt, receipt])
    expect(both.results.map((r) => r.state)).toEqual(['duplicate', 'duplicate'])
    expect(await ledgerRows()).toBe(rows)
    expect((await summary(s.server)).creditFlops).toBe(first.results[0].creditFlops)
  })

  it('refuses a second receipt for the same receiver and blob, even under a new id', async () => {
    const s = await scene()
    expect((await s.receiver.submitReceipts([await receiptFor(s)])).results[0].state).toBe('credited')
    const second = await s.receiver.submitReceipts([await receiptFor(s)])
    expect(second.results[0]).toMatchObject({ state: 'refused', reason: expect.stringMatching(/already has a credited receipt .* one per receiver and blob/) })
    // Another server for the same blob does not get around it either.
    const other = await Volunteer.create(t.url)
    await other.json('/volunteer/summary')
    const third = await s.receiver.receipt({ server: other.deviceId, blob: s.unit.inputs[0], bytes: s.sizes.get(s.unit.inputs[0])!, unitId: s.unit.unitId })
    expect((await s.receiver.submitReceipts([third])).results[0].state).toBe('refused')
    expect((await summary(other)).creditFlops).toBe(0)
  })

  it('refuses a receipt not signed by its receiver', async () => {
    const s = await scene()
    const { body } = await receiptFor(s)
    // The server signs a receipt in the receiver's name: the signature does not verify against the receiver's key.
    const forged = await signReceipt(body, s.server.key.privateKey)
    const ack = await s.server.submitReceipts([forged])
    expect(ack.results[0]).toMatchObject({ state: 'refused', reason: "the signature is not the receiver's over this receipt" })
    // A genuine signature over different bytes than claimed.
    const genuine = await receiptFor(s)
    const altered = { ...genuine, body: { ...genuine.body, bytes: genuine.body.bytes + 1 } }
    expect((await s.receiver.submitReceipts([altered])).results[0].state).toBe('refused')
    expect((await summary(s.server)).creditFlops).toBe(0)
  })

  it('refuses, naming the reason, receipts that break a rule of the stored state', async () => {
    const s = await scene()
    const [a, b] = s.unit.inputs
    const stranger = await Volunteer.create(t.url)
    const unknown = await Volunteer.create(t.url)
    const rows = await ledgerRows()
    const receipts = [
      // A blob the unit does not read.
      await s.receiver.receipt({ server: s.server.deviceId, blob: 'f'.repeat(64), bytes: 10, unitId: s.unit.unitId }),
      // Wrong byte count.
      await s.receiver.receipt({ server: s.server.deviceId, blob: a, bytes: s.sizes.get(a)! - 4, unitId: s.unit.unitId }),
      // A server that never called the hub.
      await s.receiver.receipt({ server: unknown.deviceId, blob: a, bytes: s.sizes.get(a)!, unitId: s.unit.unitId }),
      // A unit that does not exist.
      await s.receiver.receipt({ server: s.server.deviceId, blob: a, bytes: s.sizes.get(a)!, unitId: 'no-such-unit' }),
      // The receiver serving itself.
      await s.receiver.receipt({ server: s.receiver.deviceId, blob: a, bytes: s.sizes.get(a)!, unitId: s.unit.unitId }),
      // Dated in the future.
      await s.receiver.receipt({ server: s.server.deviceId, blob: b, bytes: s.sizes.get(b)!, unitId: s.unit.unitId, at: Date.now() + 3_600_000 }),
    ]
    const ack = await s.receiver.submitReceipts(receipts)
    expect(ack.results.map((r) => [r.state, r.reason])).toEqual([
      ['refused', `unit ${s.unit.unitId} does not read blob ${'f'.repeat(64)}`],
      ['refused', `bytes is ${s.sizes.get(a)! - 4}, but blob ${a} is ${s.sizes.get(a)} bytes`],
      ['refused', `the server ${unknown.deviceId} is not a known device (it has never called the hub)`],
      ['refused', 'unit no-such-unit does not exist'],
      ['refused', 'the receiver and the server are the same device'],
      ['refused', expect.stringMatching(/^at is \d+ ms in the future/)],
    ])
    expect(ack.results.map((r) => r.receiptId)).toEqual(receipts.map((r) => r.body.receiptId))

    // A receiver that never leased the unit.
    const unleased = await stranger.receipt({ server: s.server.deviceId, blob: a, bytes: s.sizes.get(a)!, unitId: s.unit.unitId })
    expect((await stranger.submitReceipts([unleased])).results[0]).toMatchObject({
      state: 'refused',
      reason: `the receiver never leased unit ${s.unit.unitId}`,
    })
    expect(await ledgerRows()).toBe(rows)
    expect((await t.hub.store.counts()).receipts).toBeGreaterThan(0)
  })

  it('still credits a receiver that returned its result and no longer holds the lease', async () => {
    const s = await scene()
    expect((await s.receiver.submit(s.unit.unitId, await s.receiver.compute(s.unit))).status).toBe(200)
    expect((await s.receiver.submitReceipts([await receiptFor(s)])).results[0].state).toBe('credited')
  })

  it('answers a malformed body with 400 naming the field, and stores nothing of it', async () => {
    const s = await scene()
    const good = await receiptFor(s)
    const bad = await receiptFor(s, s.unit.inputs[1])
    const before = await t.hub.store.counts()
    const response = await s.receiver.request('POST', '/receipts', { receipts: [good, { ...bad, body: { ...bad.body, bytes: -1 } }] })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ ok: false, code: 'bad_request', message: expect.stringMatching(/^receipts\.1\.body\.bytes: /) })
    const empty = await s.receiver.request('POST', '/receipts', { receipts: [] })
    expect(empty.status).toBe(400)
    expect((await empty.json()).message).toMatch(/^receipts: /)
    const extra = await s.receiver.request('POST', '/receipts', { receipts: [{ ...good, wallet: '0x1' }] })
    expect((await extra.json()).message).toMatch(/^receipts\.0: Unrecognized key: "wallet"/)
    expect(await t.hub.store.counts()).toEqual(before)
    expect((await summary(s.server)).creditFlops).toBe(0)
  })

  it('needs a signed request', async () => {
    const s = await scene()
    const response = await fetch(`${t.url}/api/v1/receipts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ receipts: [await receiptFor(s)] }),
    })
    expect(response.status).toBe(401)
  })
})

describe('the independence rules', () => {
  it('refuses receipts between devices calling from the same network unless the hub allows it', async () => {
    const strict = await startTestHub()
    try {
      const s = await scene(strict)
      const ack = await s.receiver.submitReceipts([await receiptFor(s)])
      expect(ack.results[0]).toMatchObject({ state: 'refused', reason: expect.stringMatching(/same network/) })
      expect((await summary(s.server)).creditFlops).toBe(0)

      // The same two devices, once the server calls from another network (set in the store, since every socket in
      // this test is on loopback), earn credit.
      await strict.hub.store.touchDevice(s.server.deviceId, Date.now(), 'v4:198.51.100')
      expect((await s.receiver.submitReceipts([await receiptFor(s)])).results[0].state).toBe('credited')
    } finally {
      await strict.close()
    }
  })

  it('caps the bytes one server is credited for per UTC day', async () => {
    // Both inputs of a 32 x 48 · 48 x 32 unit are 6144 bytes: a cap of 10000 bytes credits one of them.
    const capped = await startTestHub({ receipts: { allowSameNetwork: true, dailyCapBytes: 10_000 } })
    try {
      const s = await scene(capped)
      expect([...s.sizes.values()]).toEqual([6144, 6144])
      const ack = await s.receiver.submitReceipts([await receiptFor(s, s.unit.inputs[0]), await receiptFor(s, s.unit.inputs[1])])
      expect(ack.results[0].state).toBe('credited')
      expect(ack.results[1]).toMatchObject({
        state: 'refused',
        reason: 'the server was credited for 6144 bytes today (UTC); 6144 more would pass the daily cap of 10000 bytes',
      })
      expect((await summary(s.server)).bandwidth).toEqual({ servedBytes: 6144, creditFlops: 6144 * 8 })
      // Another server still has its own allowance.
      const other = await Volunteer.create(capped.url)
      await other.json('/volunteer/summary')
      const receipt = await s.receiver.receipt({ server: other.deviceId, blob: s.unit.inputs[1], bytes: 6144, unitId: s.unit.unitId })
      expect((await s.receiver.submitReceipts([receipt])).results[0].state).toBe('credited')
    } finally {
      await capped.close()
    }
  })
})

describe('networkOf', () => {
  it('groups IPv4 by /24, IPv6 by /48, IPv4-mapped IPv6 as IPv4, and all loopback as one', () => {
    expect(networkOf('192.168.1.5')).toBe('v4:192.168.1')
    expect(networkOf('192.168.1.200')).toBe(networkOf('192.168.1.5'))
    expect(networkOf('192.168.2.5')).not.toBe(networkOf('192.168.1.5'))
    expect(networkOf('::ffff:192.168.1.7')).toBe('v4:192.168.1')
    expect(networkOf('2001:db8:abcd:12::1')).toBe('v6:2001:db8:abcd')
    expect(networkOf('2001:db8:abcd:ffff:1:2:3:4')).toBe(networkOf('2001:db8:abcd::9'))
    expect(networkOf('2001:db8:abce::1')).not.toBe(networkOf('2001:db8:abcd::1'))
    expect(networkOf('fe80::1%eth0')).toBe('v6:fe80:0:0')
    expect(networkOf('127.0.0.1')).toBe('loopback')
    expect(networkOf('127.9.9.9')).toBe('loopback')
    expect(networkOf('::1')).toBe('loopback')
    expect(networkOf('::ffff:127.0.0.1')).toBe('loopback')
    expect(networkOf(undefined)).toBeUndefined()
    expect(networkOf('not-an-ip')).toBeUndefined()
  })
})
