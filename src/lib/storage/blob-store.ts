/**
 * Verified input blobs on this device, in IndexedDB: what units read, and what this device serves to peers. A blob is
 * stored only after its bytes matched its hash. Past the size cap (a setting), the least recently used go first.
 * An in-memory index (hash → size, last use) answers "what do I have" without reading the bytes.
 */
import { sha256Hex } from '../../../protocol/index.ts'
import { openMeshworkDB } from './db.ts'

export interface BlobStoreUsage {
  count: number
  bytes: number
  capBytes: number
}

export class BlobStore {
  #capBytes: number
  #index: Map<string, { size: number; usedAt: number }> | undefined
  #loading: Promise<Map<string, { size: number; usedAt: number }>> | undefined
  #bytes = 0
  /** Last `usedAt` written per hash; touches closer together than this are not written again. */
  static readonly TOUCH_WRITE_MS = 60_000

  constructor(capBytes: number) {
    this.#capBytes = capBytes
  }

  async #load(): Promise<Map<string, { size: number; usedAt: number }>> {
    if (this.#index) return this.#index
    this.#loading ??= (async () => {
      const db = await openMeshworkDB()
      const index = new Map<string, { size: number; usedAt: number }>()
      // Walk the usedAt index so the map iterates least recently used first.
      let cursor = await db.transaction('blobs').store.index('usedAt').openCursor()
      let bytes = 0
      while (cursor) {
        index.set(cursor.value.hash, { size: cursor.value.size, usedAt: cursor.value.usedAt })
        bytes += cursor.value.size
        cursor = await cursor.continue()
      }
      this.#bytes = bytes
      this.#index = index
      return index
    })()
    return this.#loading
  }

  /** Hashes held, most recently used first. */
  async hashes(limit = Infinity): Promise<string[]> {
    const all = [...(await this.#load()).keys()].reverse()
    return all.slice(0, limit)
  }

  async has(hash: string): Promise<boolean> {
    return (await this.#load()).has(hash)
  }

  async size(hash: string): Promise<number | undefined> {
    return (await this.#load()).get(hash)?.size
  }

  async usage(): Promise<BlobStoreUsage> {
    const index = await this.#load()
    return { count: index.size, bytes: this.#bytes, capBytes: this.#capBytes }
  }

  /**
   * The stored bytes. With `verify`, they are checked against the hash first and a corrupted entry is deleted
   * (undefined is returned), so a damaged disk never feeds a kernel. Serving peers skip the check: receivers verify.
   */
  async get(hash: string, { verify = true }: { verify?: boolean } = {}): Promise<Uint8Array | undefined> {
    return (await this.#read(hash, verify))?.bytes
  }

  /** The stored blob as a Blob handle (what a compute worker reads), checked against its hash like `get`. */
  async getBlob(hash: string): Promise<Blob | undefined> {
    return (await this.#read(hash, true))?.data
  }

  async #read(hash: string, verify: boolean): Promise<{ data: Blob; bytes: Uint8Array } | undefined> {
    const index = await this.#load()
    if (!index.has(hash)) return undefined
    const db = await openMeshworkDB()
    const stored = await db.get('blobs', hash)
    if (!stored) {
      this.#forget(hash)
      return undefined
    }
    // Entries are Blobs: the bytes are read off the main thread.
    const bytes = new Uint8Array(await stored.data.arrayBuffer())
    if (verify && (await sha256Hex(bytes)) !== hash) {
      await this.delete(hash)
      return undefined
    }
    await this.#touch(hash)
    return { data: stored.data, bytes }
  }

  /** Stores verified bytes (the caller checked the hash) and evicts least recently used blobs past the cap. */
  async put(hash: string, bytes: Uint8Array | Blob): Promise<void> {
    const size = bytes instanceof Blob ? bytes.size : bytes.byteLength
    if (size > this.#capBytes) return
    const index = await this.#load()
    if (index.has(hash)) {
      await this.#touch(hash)
      return
    }
    const now = Date.now()
    const db = await openMeshworkDB()
    const data = bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>])
    await db.put('blobs', { hash, data, size, usedAt: now })
    index.set(hash, { size, usedAt: now })
    this.#bytes += size
    await this.#evict()
  }

  async delete(hash: string): Promise<void> {
    const db = await openMeshworkDB()
    await db.delete('blobs', hash)
    this.#forget(hash)
  }

  /** Changes the cap (the setting) and evicts down to it. */
  async setCap(capBytes: number): Promise<void> {
    this.#capBytes = capBytes
    await this.#evict()
  }

  async #touch(hash: string): Promise<void> {
    const index = await this.#load()
    const entry = index.get(hash)
    if (!entry) return
    const now = Date.now()
    index.delete(hash)
    index.set(hash, { size: entry.size, usedAt: now })
    if (now - entry.usedAt < BlobStore.TOUCH_WRITE_MS) return
    const db = await openMeshworkDB()
    const tx = db.transaction('blobs', 'readwrite')
    const stored = await tx.store.get(hash)
    if (stored) await tx.store.put({ ...stored, usedAt: now })
    await tx.done
  }

  #forget(hash: string): void {
    const entry = this.#index?.get(hash)
    if (!entry) return
    this.#index!.delete(hash)
    this.#bytes -= entry.size
  }

  async #evict(): Promise<void> {
    const index = await this.#load()
    const victims: string[] = []
    let bytes = this.#bytes
    for (const [hash, { size }] of index) {
      if (bytes <= this.#capBytes) break
      victims.push(hash)
      bytes -= size
    }
    if (!victims.length) return
    const db = await openMeshworkDB()
    const tx = db.transaction('blobs', 'readwrite')
    await Promise.all([...victims.map((hash) => tx.store.delete(hash)), tx.done])
    for (const hash of victims) this.#forget(hash)
  }
}
