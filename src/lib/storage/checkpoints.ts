/**
 * Checkpoints of long units (see StoredCheckpoint in db.ts). The compute worker writes and reads them; the page reads
 * only how far a unit got (to show its progress bar there at once) and removes them with the unit's lease.
 */
import { openMeshworkDB, type StoredCheckpoint } from './db.ts'

export async function putCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction('checkpoints', 'readwrite', { durability: 'strict' })
  await Promise.all([tx.store.put(checkpoint), tx.done])
}

export async function getCheckpoint(unitId: string): Promise<StoredCheckpoint | undefined> {
  const db = await openMeshworkDB()
  return db.get('checkpoints', unitId)
}

/** How far a unit got before its last checkpoint (0 to 1), or 0 without one. */
export async function checkpointFraction(unitId: string): Promise<number> {
  const saved = await getCheckpoint(unitId)
  return saved && saved.total > 0 ? saved.done / saved.total : 0
}
