/** What the API routes need from the hub: only these, so routes are tested with a real store and nothing else. */
import type { BlobCache } from '../blob-cache.ts'
import type { Ingest } from '../ingest.ts'
import type { Store } from '../store/types.ts'

export interface HubMetrics {
  /** Bytes of blob bodies sent by `GET /api/v1/blobs/{hash}` (not counting 304s). */
  blobBytesServed: number
  /** Blob requests answered with a body. */
  blobsServed: number
}

export interface ApiContext {
  store: Store
  ingest: Ingest
  blobs: BlobCache
  metrics: HubMetrics
  /** How long a leased unit stays with its device. */
  leaseMs: number
  version: string
  startedAt: number
  /** The OpenAPI document (built once, on first request). */
  openapi: () => unknown
  /** @default Date.now */
  now: () => number
}
