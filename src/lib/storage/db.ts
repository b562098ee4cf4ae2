/**
 * The app's IndexedDB database, through idb: the device key and the result outbox. Schema changes bump
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
  output: Uint8Array
  elapsedMs: number
  backend: Backend
  costFlops: number
  createdAt: number
  /** Upload attempts so far (for backoff and display). */
  attempts: number
  lastError?: string
}

interface MeshworkDB extends DBSchema {
  device: { key: string; value: StoredDeviceKey }
  outbox: { key: string; value: OutboxEntry; indexes: { createdAt: number } }
}

export const DB_NAME = 'meshwork'
const DB_VERSION = 1

let dbPromise: Promise<IDBPDatabase<MeshworkDB>> | undefined

/** Opens (once per page) the app's database. */
export function openMeshworkDB(): Promise<IDBPDatabase<MeshworkDB>> {
  dbPromise ??= openDB<MeshworkDB>(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('device')
        db.createObjectStore('outbox', { keyPath: 'resultId' }).createIndex('createdAt', 'createdAt')
      }
    },
    blocking() {
      // A newer version of the app wants to upgrade: let it.
      void dbPromise?.then((db) => db.close())
      dbPromise = undefined
    },
  })
  return dbPromise
}
