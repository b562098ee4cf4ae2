/**
 * Input blobs kept in memory, least recently used out first past a byte cap. Every unit of a tile row reads the same A
 * block and every unit of a tile column the same B block, so volunteers and the validator ask for the same few
 * blobs over and over; this saves a database read (and a copy) per request.
 */
import type { Store } from './store/types.ts'

export interface BlobCache {
  get(hash: string): Promise<Uint8Array | undefined>
  readonly bytes: number
}

/** Wraps `store.getBlob` with an LRU cache of at most `maxBytes`. @default maxBytes 64 MiB */
export function createBlobCache(store: Store, maxBytes = 64 * 1024 * 1024): BlobCache {
  const entries = new Map<string, Uint8Array>()
  let bytes = 0
  return {
    get bytes() {
      return bytes
    },
    async get(hash) {
      const hit = entries.get(hash)
      if (hit) {
        // Re-insert so Map order stays least-recently-used first.
        entries.delete(hash)
        entries.set(hash, hit)
        return hit
      }
      const loaded = await store.getBlob(hash)
      if (!loaded || loaded.byteLength > maxBytes / 4) return loaded
      entries.set(hash, loaded)
      bytes += loaded.byteLength
      for (const [key, value] of entries) {
        if (bytes <= maxBytes) break
        entries.delete(key)
        bytes -= value.byteLength
      }
      return loaded
    },
  }
}
