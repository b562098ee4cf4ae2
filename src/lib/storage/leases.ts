/**
 * The lease buffer: units this device leased and has not finished. Kept in IndexedDB so a reload, or the installed
 * app opened with the network gone, computes them instead of losing them; a finished unit leaves the buffer in the
 * same transaction that puts its result in the outbox, so a unit is never both lost and done, nor done twice.
 */
import type { LeasedUnit } from '../../../protocol/index.ts'
import { openMeshworkDB, type OutboxEntry } from './db.ts'

/** Keeps freshly leased units (resolves once committed). */
export async function putLeases(units: LeasedUnit[]): Promise<void> {
  if (!units.length) return
  const db = await openMeshworkDB()
  const tx = db.transaction('leases', 'readwrite', { durability: 'strict' })
  const storedAt = Date.now()
  await Promise.all([...units.map((unit) => tx.store.put({ unitId: unit.unitId, unit, storedAt })), tx.done])
}

/** Held units whose lease has not expired, oldest first; expired ones are removed (the hub re-issues them). */
export async function listLeases(now = Date.now()): Promise<LeasedUnit[]> {
  const db = await openMeshworkDB()
  const tx = db.transaction('leases', 'readwrite')
  const live: LeasedUnit[] = []
  for (const lease of await tx.store.getAll()) {
    if (lease.unit.deadline <= now) await tx.store.delete(lease.unitId)
    else live.push(lease.unit)
  }
  await tx.done
  return live
}

/** Drops a unit that can never finish here (its inputs or its computation failed for good). */
export async function deleteLease(unitId: string): Promise<void> {
  const db = await openMeshworkDB()
  await db.delete('leases', unitId)
}

/** Moves a finished unit from the lease buffer to the outbox in one durable transaction. */
export async function completeLease(entry: OutboxEntry): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction(['outbox', 'leases'], 'readwrite', { durability: 'strict' })
  await Promise.all([tx.objectStore('outbox').put(entry), tx.objectStore('leases').delete(entry.unitId), tx.done])
}
