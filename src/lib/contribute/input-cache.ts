/**
 * Input blobs held while units need them, as Blob handles (their bytes live outside the page's heap and go to the
 * compute worker without a copy on the main thread). Units of one tile row share A's block and units of one tile
 * column share B's, so fetching each blob once matters. Least recently used blobs go first past the byte cap.
 */
export class InputCache {
  readonly #maxBytes: number
  #bytes = 0
  readonly #entries = new Map<string, Promise<Blob>>()
  readonly #sizes = new Map<string, number>()

  /** @param maxBytes cap on cached bytes. @default 128 MiB */
  constructor(maxBytes = 128 * 1024 * 1024) {
    this.#maxBytes = maxBytes
  }

  /** The blob for `hash`, fetched with `fetcher` on a miss; concurrent callers share one fetch. */
  get(hash: string, fetcher: (hash: string) => Promise<Blob>): Promise<Blob> {
    const hit = this.#entries.get(hash)
    if (hit) {
      this.#entries.delete(hash)
      this.#entries.set(hash, hit)
      return hit
    }
    const pending = fetcher(hash).then(
      (data) => {
        this.#sizes.set(hash, data.size)
        this.#bytes += data.size
        this.#evict()
        return data
      },
      (error: unknown) => {
        this.#entries.delete(hash)
        throw error
      },
    )
    this.#entries.set(hash, pending)
    return pending
  }

  #evict(): void {
    for (const hash of this.#entries.keys()) {
      if (this.#bytes <= this.#maxBytes) return
      const size = this.#sizes.get(hash)
      if (size === undefined) continue
      this.#entries.delete(hash)
      this.#sizes.delete(hash)
      this.#bytes -= size
    }
  }
}
