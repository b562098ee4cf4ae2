/** What the API routes need from the hub: only these, so routes are tested with a real store and nothing else. */
import type { BlobCache } from '../blob-cache.ts'
import type { Ingest } from '../ingest.ts'
import type { HubPeerStats, IceServer } from '../p2p/index.ts'
import type { ReceiptRules } from '../receipts/index.ts'
import type { Store } from '../store/types.ts'

export interface BlobServed {
  /** Requests answered with this blob's body. */
  served: number
  /** Bytes of this blob's body sent. */
  bytes: number
}

export interface HubMetrics {
  /** Bytes of blob bodies sent by `GET /api/v1/blobs/{hash}` (not counting 304s). */
  blobBytesServed: number
  /** Blob requests answered with a body. */
  blobsServed: number
  /** The same two counts per blob hash (only hashes the hub stores, so bounded by the store). */
  blobsByHash: Map<string, BlobServed>
}

/** The hub's libp2p node as the routes see it. */
export interface PeerNetwork {
  peerId: string
  /** The peer listener's bound port. */
  port: number
  /** Configured announce multiaddrs, each ending in /p2p/<peerId>; empty when derived per request. */
  announce: string[]
  /** Listening multiaddrs, each ending in /p2p/<peerId>. */
  multiaddrs(): string[]
  iceServers: IceServer[]
  stats(): HubPeerStats
}

export interface ApiContext {
  store: Store
  ingest: Ingest
  blobs: BlobCache
  metrics: HubMetrics
  /** The peer network; undefined when it is off or not started yet (it starts with the hub's `listen()`). */
  p2p: () => PeerNetwork | undefined
  /** Rules for crediting bandwidth receipts. */
  receipts: ReceiptRules
  /** Chain, contract and reward key for vouchers; undefined when rewards are not configured. */
  rewards?: import('../wallet/vouchers.ts').RewardsConfig
  /** The hub's public origin (MESHWORK_PUBLIC_URL, else its listening URL): the domain wallet sign-ins must name. */
  publicUrl: () => string
  /** How long a leased unit stays with its device. */
  leaseMs: number
  /** Replicas, quotas, spot checks and caps (see server/verification.ts). */
  verification: Required<import('../verification.ts').VerificationOptions>
  version: string
  startedAt: number
  /** The OpenAPI document (built once, on first request). */
  openapi: () => unknown
  /** @default Date.now */
  now: () => number
}
