/**
 * The peer network's wire contract, shared by the hub's libp2p node and the browser's: protocol ids, pub/sub topics,
 * message schemas and their size limits, bandwidth receipts and the credit rate for serving bytes.
 *
 * Peers learn a peer id and blob hashes from each other, nothing else: announcements carry no wallet, no credit and
 * no address beyond the relay circuit that WebRTC signalling needs.
 */
import { z } from 'zod'
import { fromBase64, toBase64Url } from './encoding.ts'
import { describeZodError, Hash, JobId, UnitId } from './schemas.ts'
import { DEVICE_ID_PATTERN } from './signing.ts'

/** Content-addressed input exchange: request one blob by hash, receive it in chunks. */
export const BLOB_PROTOCOL = '/meshwork/blobs/1.0.0'
/** Gossipsub topic where volunteers announce themselves, the jobs they work on and the blobs they can serve. */
export const PEERS_TOPIC = 'meshwork/peers/1'

/** Largest chunk a serving peer writes in one message. */
export const BLOB_CHUNK_BYTES = 64 * 1024
/** Largest blob served over the peer network (a MAX_MATRIX_ELEMENTS input is 256 MiB; peers serve up to 64 MiB). */
export const MAX_PEER_BLOB_BYTES = 64 * 1024 * 1024
/** Largest control message (request, response header, announcement) in bytes. */
export const MAX_P2P_MESSAGE_BYTES = 16 * 1024
/** Most blob hashes one announcement may list. */
export const MAX_ANNOUNCED_BLOBS = 128
/** Most job ids one announcement may list. */
export const MAX_ANNOUNCED_JOBS = 16

/**
 * Bandwidth credit: each byte a peer serves to an independent volunteer (and that volunteer verified against its hash)
 * earns this many flops of credit. At 8 flop/byte, serving a 1 MiB input earns 8.4 MFLOP, about 6 % of computing
 * one 256 x 256 x 1024 matmul unit (134 MFLOP) that reads 2 MiB of inputs: serving helps, computing pays.
 */
export const BANDWIDTH_FLOPS_PER_BYTE = 8
/** Most bytes of bandwidth credit one serving device can earn per UTC day. */
export const MAX_BANDWIDTH_CREDIT_BYTES_PER_DAY = 10 * 1024 ** 3

/** The hub's libp2p node as the app needs it: where to reserve a relay slot, and the ICE servers for WebRTC. */
export const P2PConfig = z.object({
  enabled: z.boolean(),
  /** The hub's peer id. */
  peerId: z.string(),
  /** WebSocket multiaddrs of the hub, each ending in /p2p/<peerId>. */
  multiaddrs: z.array(z.string()).max(16),
  topic: z.string(),
  protocol: z.string(),
  /** STUN/TURN servers for RTCPeerConnection; empty on a LAN or loopback. */
  iceServers: z.array(z.object({ urls: z.union([z.string(), z.array(z.string())]), username: z.string().optional(), credential: z.string().optional() })).max(8),
})
export type P2PConfig = z.infer<typeof P2PConfig>

/** What a volunteer announces on PEERS_TOPIC every few seconds. */
export const PeerAnnouncement = z.strictObject({
  v: z.literal(1),
  /** Jobs the peer holds leases for, so peers on the same job find each other first. */
  jobs: z.array(JobId).max(MAX_ANNOUNCED_JOBS),
  /** Blobs the peer has verified and will serve. */
  blobs: z.array(Hash).max(MAX_ANNOUNCED_BLOBS),
  /**
   * Blobs the peer is downloading from the hub right now. Peers that need one of them wait for it rather than download
   * it too; of two peers that claim the same blob, the one with the smaller peer id keeps the claim.
   */
  fetching: z.array(Hash).max(MAX_ANNOUNCED_BLOBS).default([]),
  /** Relay circuit addresses the peer can be dialled on (…/p2p-circuit/webrtc/p2p/<id> is derived from these). */
  addrs: z.array(z.string().max(512)).max(8),
})
export type PeerAnnouncement = z.infer<typeof PeerAnnouncement>

/** The bytes of an announcement on PEERS_TOPIC: UTF-8 JSON. */
export function encodeAnnouncement(announcement: PeerAnnouncement): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(announcement))
}

export type DecodeAnnouncementReturnType = { ok: true; announcement: PeerAnnouncement } | { ok: false; reason: string }

/**
 * Reads one PEERS_TOPIC message: at most MAX_P2P_MESSAGE_BYTES of UTF-8 JSON matching PeerAnnouncement. Failures are
 * data naming what was wrong, because the hub's gossipsub validator turns them into a Reject (not propagated).
 */
export function decodeAnnouncement(data: Uint8Array): DecodeAnnouncementReturnType {
  if (data.byteLength > MAX_P2P_MESSAGE_BYTES) {
    return { ok: false, reason: `announcement is ${data.byteLength} bytes; at most ${MAX_P2P_MESSAGE_BYTES} allowed` }
  }
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch {
    return { ok: false, reason: 'announcement is not UTF-8 JSON' }
  }
  const parsed = PeerAnnouncement.safeParse(value)
  return parsed.success ? { ok: true, announcement: parsed.data } : { ok: false, reason: describeZodError(parsed.error) }
}

/** First message on a BLOB_PROTOCOL stream, from the asking peer. */
export const BlobRequest = z.strictObject({ v: z.literal(1), hash: Hash })
export type BlobRequest = z.infer<typeof BlobRequest>

/** The serving peer's answer; on `ok`, exactly `size` bytes follow in chunks of at most BLOB_CHUNK_BYTES. */
export const BlobResponse = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), size: z.int().min(0).max(MAX_PEER_BLOB_BYTES) }),
  z.strictObject({ ok: z.literal(false), code: z.enum(['not_found', 'busy', 'bad_request']), message: z.string().max(512) }),
])
export type BlobResponse = z.infer<typeof BlobResponse>

const DeviceId = z.string().regex(DEVICE_ID_PATTERN, 'must be a device id (base64url of a 32-byte Ed25519 public key)')

/** What the receiving volunteer attests: "I received this blob, verified by hash, from that peer, for that unit". */
export const BandwidthReceiptBody = z.strictObject({
  v: z.literal(1),
  /** Idempotency key chosen by the receiver. */
  receiptId: z.uuid(),
  /** The receiving device (the signer). */
  receiver: DeviceId,
  /** The serving device: its libp2p peer id is derived from this same Ed25519 key. */
  server: DeviceId,
  blob: Hash,
  bytes: z.int().min(1).max(MAX_PEER_BLOB_BYTES),
  /** The leased unit that needed the blob. */
  unitId: UnitId,
  at: z.int().min(0),
})
export type BandwidthReceiptBody = z.infer<typeof BandwidthReceiptBody>

export const BandwidthReceipt = z.strictObject({
  body: BandwidthReceiptBody,
  /** base64url Ed25519 signature by `body.receiver` over receiptMessage(body). */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'must be a base64url Ed25519 signature'),
})
export type BandwidthReceipt = z.infer<typeof BandwidthReceipt>

export const ReceiptSubmission = z.strictObject({ receipts: z.array(BandwidthReceipt).min(1).max(64) })
export type ReceiptSubmission = z.infer<typeof ReceiptSubmission>

export const ReceiptVerdict = z.object({
  receiptId: z.string(),
  /** credited: a ledger row for the server; duplicate: already seen; refused: see reason (nothing stored). */
  state: z.enum(['credited', 'duplicate', 'refused']),
  reason: z.string().optional(),
  creditFlops: z.number(),
})
export const ReceiptAck = z.object({ results: z.array(ReceiptVerdict) })
export type ReceiptAck = z.infer<typeof ReceiptAck>

/** The exact bytes a receipt signature covers: a domain tag and the body's fields in a fixed order. */
export function receiptMessage(body: BandwidthReceiptBody): Uint8Array {
  const fields = ['meshwork-receipt-v1', body.receiptId, body.receiver, body.server, body.blob, body.bytes, body.unitId, body.at]
  return new TextEncoder().encode(fields.join('\n'))
}

/** Signs a receipt with the receiver's device key (a WebCrypto Ed25519 private key). */
export async function signReceipt(body: BandwidthReceiptBody, privateKey: CryptoKey): Promise<BandwidthReceipt> {
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, receiptMessage(body) as Uint8Array<ArrayBuffer>))
  return { body, signature: toBase64Url(signature) }
}

/** Checks a receipt's signature against its receiver's device id. */
export async function verifyReceipt(receipt: BandwidthReceipt): Promise<boolean> {
  const publicKey = fromBase64(receipt.body.receiver)
  const signature = fromBase64(receipt.signature)
  if (!publicKey || publicKey.length !== 32 || !signature || signature.length !== 64) return false
  try {
    const key = await crypto.subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify'])
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature as Uint8Array<ArrayBuffer>, receiptMessage(receipt.body) as Uint8Array<ArrayBuffer>)
  } catch {
    return false
  }
}
