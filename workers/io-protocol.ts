/** What crosses the I/O worker's boundary (workers/io.worker.ts). Errors travel as data. */
import type { ErrorCode } from '../protocol/index.ts'

/** A change of the outbox, as the uploader in the I/O worker sees it. */
export interface UploadEvent {
  /** Results still waiting for the hub. */
  waiting: number
  /** Results the hub acknowledged in one answer (they are out of the outbox). */
  acked?: { resultId: string; unitId: string }[]
  /** A result the hub will never accept, removed from the outbox, and why. */
  dropped?: { unitId: string; reason: string }
}

export type FetchedInput = { ok: true; data: Blob } | { ok: false; code: ErrorCode; message: string; transient: boolean }

export interface IoWorkerApi {
  /** An input blob from the hub at `baseUrl` (its bytes checked against `hash`), as a Blob handle. */
  fetchInput(baseUrl: string, hash: string): Promise<FetchedInput>
  /**
   * Starts uploading the outbox with this device's key (once; later calls do nothing). Resolves false when the device
   * has no key yet. `onChange` (a comlink proxy) receives every change of the outbox.
   */
  startUploads(options: { baseUrl: string; partner?: string }, onChange: (event: UploadEvent) => void): Promise<boolean>
  /** Uploads what waits now; `resetBackoff` after the network came back. */
  kickUploads(resetBackoff?: boolean): void
}
