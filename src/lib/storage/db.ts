/**
 * The app's IndexedDB database, through idb: the device key, the result outbox, verified input blobs (the device's
 * cache, which it also serves to peers), bandwidth receipts waiting for upload and the leased units this device holds. Schema changes bump
 * DB_VERSION and add a step to `upgrade`, never rewrite an old one.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { Backend } from '../../../protocol/index.ts'

export interface StoredDeviceKey {
  deviceId: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  createdAt: number
}

/** A finished result waiting for the hub's acknowledgement. */
export interface OutboxEntry {
  resultId: string
  unitId: string
  jobId: string
  workload: string
  /**
   * The result's bytes. A Blob: IndexedDB stores and returns it without copying megabytes on the main thread (a
   * Uint8Array in entries written before database version 4). See `outputBytes`.
   */
  output: Blob | Uint8Array
  elapsedMs: number
  backend: Backend
  costFlops: number
  createdAt: number
  /** Upload attempts so far (for backoff and display). */
  attempts: number
  lastError?: string
  /** The partner site whose widget computed it (uploaded with it, so the hub attributes its credit). */
  partner?: string
}

/** An input blob this device verified against its hash. */
export interface StoredBlob {
  hash: string
  /** The bytes as a Blob: written and read without structured-cloning megabytes on the main thread. */
  data: Blob
  size: number
  /** Last time a unit or a peer used it (least recently used go first past the cap). */
  usedAt: number
}

/** A signed bandwidth receipt for a peer that served this device a blob, until the hub acknowledges it. */
export interface PendingReceipt {
  receiptId: string
  receipt: import('../../../protocol/p2p.ts').BandwidthReceipt
  createdAt: number
}

/** A leased unit this device holds: kept so that a reload, or opening the app offline, still computes it. */
export interface StoredLease {
  unitId: string
  unit: import('../../../protocol/index.ts').LeasedUnit
  storedAt: number
}

/**
 * A long unit's progress, saved by its compute worker at slice boundaries (workers/checkpoint.ts): after a reload the
 * unit resumes from here instead of from zero. Removed with its lease (completed, failed or expired).
 */
export interface StoredCheckpoint {
  unitId: string
  workload: string
  /** The unit's spec as JSON: a checkpoint is used only for the very unit it was saved for. */
  spec: string
  /** Rows (matmul) or blocks (primes) done, of `total`. */
  done: number
  total: number
  /** The whole output array as it was (its first `done` rows or blocks are final). */
  output: Blob
  savedAt: number
}

interface MeshworkDB extends DBSchema {
  device: { key: string; value: StoredDeviceKey }
  outbox: { key: string; value: OutboxEntry; indexes: { createdAt: number } }
  blobs: { key: string; value: StoredBlob; indexes: { usedAt: number } }
  receipts: { key: string; value: PendingReceipt }
  leases: { key: string; value: StoredLease }
  checkpoints: { key: string; value: StoredCheckpoint }
}

export const DB_NAME = 'meshwork'
const DB_VERSION = 5

let dbPromise: Promise<IDBPDatabase<MeshworkDB>> | undefined

/** Opens (once per page) the app's database. */
export function openMeshworkDB(): Promise<IDBPDatabase<MeshworkDB>> {
  dbPromise ??= openDB<MeshworkDB>(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion, _newVersion, transaction) {
      if (oldVersion < 1) {
        db.createObjectStore('device')
        db.createObjectStore('outbox', { keyPath: 'resultId' }).createIndex('createdAt', 'createdAt')
      }
      if (oldVersion < 2) {
        db.createObjectStore('blobs', { keyPath: 'hash' }).createIndex('usedAt', 'usedAt')
        db.createObjectStore('receipts', { keyPath: 'receiptId' })
      }
      if (oldVersion < 3) db.createObjectStore('leases', { keyPath: 'unitId' })
      // Version 4 keeps blob bytes as Blobs; the cache's old entries (Uint8Arrays) are dropped, not converted.
      if (oldVersion >= 2 && oldVersion < 4) void transaction.objectStore('blobs').clear()
      if (oldVersion < 5) db.createObjectStore('checkpoints', { keyPath: 'unitId' })
    },
    blocking() {
      // A newer version of the app wants to upgrade: let it.
      void dbPromise?.then((db) => db.close())
      dbPromise = undefined
    },
  })
  return dbPromise
}

/** An outbox entry's size in bytes, without reading it. */
export function outputSize(entry: Pick<OutboxEntry, 'output'>): number {
  return entry.output instanceof Blob ? entry.output.size : entry.output.byteLength
}

/** An outbox entry's bytes, read off the main thread when they are a Blob. */
export async function outputBytes(entry: Pick<OutboxEntry, 'output'>): Promise<Uint8Array> {
  return entry.output instanceof Blob ? new Uint8Array(await entry.output.arrayBuffer()) : entry.output
}
