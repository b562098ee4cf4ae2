/** The result outbox: a result is written here before it is uploaded and deleted only after the hub acknowledges it. */
import { openMeshworkDB, type OutboxEntry } from './db.ts'

/** Durably stores a finished result (resolves when the IndexedDB transaction has committed). */
export async function putOutbox(entry: OutboxEntry): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction('outbox', 'readwrite', { durability: 'strict' })
  await Promise.all([tx.store.put(entry), tx.done])
}

/** Every waiting result, oldest first. */
export async function listOutbox(): Promise<OutboxEntry[]> {
  const db = await openMeshworkDB()
  return db.getAllFromIndex('outbox', 'createdAt')
}

/** Number of results waiting to upload. */
export async function countOutbox(): Promise<number> {
  const db = await openMeshworkDB()
  return db.count('outbox')
}

/** Removes acknowledged results (one transaction for all of them: a batch upload acknowledges up to 64). */
export async function deleteOutbox(...resultIds: string[]): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction('outbox', 'readwrite')
  await Promise.all([...resultIds.map((id) => tx.store.delete(id)), tx.done])
}

/** Records a failed upload attempt on each entry that is still there (one transaction for all of them). */
export async function markOutboxAttempt(resultIds: string[], error: string): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction('outbox', 'readwrite')
  for (const resultId of resultIds) {
    const entry = await tx.store.get(resultId)
    if (entry) await tx.store.put({ ...entry, attempts: entry.attempts + 1, lastError: error })
  }
  await tx.done
}
