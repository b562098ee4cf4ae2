/**
 * The WAL checkpoint thread: with it, committed pages reach the database file while the hub's own connection never
 * checkpoints (its threshold is far above what the test writes); the store closes cleanly, twice if asked; and data written before a close is
 * all there after reopening.
 */
import { statSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { SqliteStore } from './sqlite.ts'
import { tempDir, waitFor } from '../test-helpers.ts'

const BLOB_BYTES = 64 * 1024
const BLOBS = 64

async function fill(store: SqliteStore) {
  for (let i = 0; i < BLOBS; i++) {
    const bytes = new Uint8Array(BLOB_BYTES).fill(i)
    await store.putBlob(`hash-${i}`, bytes)
  }
}

describe('WAL checkpoints on a worker thread', () => {
  let tmp: ReturnType<typeof tempDir> | undefined
  const databaseFile = () => {
    tmp = tempDir()
    return path.join(tmp.dir, 'hub.sqlite')
  }
  afterEach(() => tmp?.remove())

  it('moves committed pages into the database file without the hub connection checkpointing', async () => {
    const file = databaseFile()
    const db = new Database(file)
    const store = new SqliteStore(db, { file })
    // The hub's connection checkpoints only every 64 MiB of log (to let the log start over); 4 MiB never reaches that.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(16_384)
    const before = statSync(file).size
    await fill(store)
    // 4 MiB went into the WAL; the thread copies it into the database file.
    await waitFor(async () => statSync(file).size - before >= BLOBS * BLOB_BYTES, 'the database file to grow by the checkpointed pages', 5000)
    await store.close()
    await store.close()
    const reopened = new Database(file, { readonly: true })
    expect((reopened.prepare('SELECT COUNT(*) AS n, SUM(size) AS bytes FROM blobs').get() as { n: number; bytes: number })).toEqual({ n: BLOBS, bytes: BLOBS * BLOB_BYTES })
    reopened.close()
  })

  it('leaves the database file alone without the thread (the control: SQLite checkpoints only when told to)', async () => {
    const file = databaseFile()
    const db = new Database(file)
    const store = new SqliteStore(db)
    db.pragma('wal_autocheckpoint = 0')
    const before = statSync(file).size
    await fill(store)
    await new Promise((r) => setTimeout(r, 500))
    expect(statSync(file).size - before).toBeLessThan(BLOB_BYTES)
    await store.close()
  })
})
