/**
 * The page's handle on the I/O worker (workers/io.worker.ts): input blobs come back as Blob handles and the outbox
 * uploads there, so the main thread never copies, encodes or hashes their megabytes.
 */
import { proxy, wrap, type Remote } from 'comlink'
import { MeshworkError } from '../../../protocol/index.ts'
import type { IoWorkerApi, UploadEvent } from '../../../workers/io-protocol.ts'

export type { UploadEvent }

export class IoWorker {
  readonly #worker: Worker
  readonly #api: Remote<IoWorkerApi>
  readonly #baseUrl: string

  /** @param baseUrl the hub's origin ('' for this page's; made absolute, since the worker's URL is elsewhere). */
  constructor(baseUrl: string) {
    this.#worker = new Worker(new URL('../../../workers/io.worker.ts', import.meta.url), { type: 'module', name: 'meshwork-io' })
    this.#api = wrap<IoWorkerApi>(this.#worker)
    this.#baseUrl = baseUrl || globalThis.location.origin
  }

  /** The input blob with this hash from the hub, checked; throws a MeshworkError (transient for network failures). */
  async fetchInput(hash: string): Promise<Blob> {
    const fetched = await this.#api.fetchInput(this.#baseUrl, hash)
    if (!fetched.ok) throw new MeshworkError(fetched.message, { code: fetched.code, transient: fetched.transient })
    return fetched.data
  }

  /** Starts the outbox uploads (see IoWorkerApi.startUploads); false when the device has no key yet. */
  startUploads(partner: string | undefined, onChange: (event: UploadEvent) => void): Promise<boolean> {
    return this.#api.startUploads({ baseUrl: this.#baseUrl, ...(partner ? { partner } : {}) }, proxy(onChange))
  }

  kickUploads(resetBackoff = false): void {
    void this.#api.kickUploads(resetBackoff)
  }

  terminate(): void {
    this.#worker.terminate()
  }
}
