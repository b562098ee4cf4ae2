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
  const tx = db.transaction(['leases', 'checkpoints'], 'readwrite')
  const leases = tx.objectStore('leases')
  const checkpoints = tx.objectStore('checkpoints')
  const live: LeasedUnit[] = []
  for (const lease of await leases.getAll()) {
    if (lease.unit.deadline <= now) await leases.delete(lease.unitId)
    else live.push(lease.unit)
  }
  // Checkpoints of units no longer held (expired, or a write that landed after the unit finished) go too.
  const held = new Set(live.map((unit) => unit.unitId))
  for (const unitId of await checkpoints.getAllKeys()) if (!held.has(unitId)) await checkpoints.delete(unitId)
  await tx.done
  return live
}

/** Drops a unit that can never finish here (its inputs or its computation failed for good). */
export async function deleteLease(unitId: string): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction(['leases', 'checkpoints'], 'readwrite')
  await Promise.all([tx.objectStore('leases').delete(unitId), tx.objectStore('checkpoints').delete(unitId), tx.done])
}

/** Moves a finished unit from the lease buffer (and its checkpoint) to the outbox in one durable transaction. */
export async function completeLease(entry: OutboxEntry): Promise<void> {
  const db = await openMeshworkDB()
  const tx = db.transaction(['outbox', 'leases', 'checkpoints'], 'readwrite', { durability: 'strict' })
  await Promise.all([
    tx.objectStore('outbox').put(entry),
    tx.objectStore('leases').delete(entry.unitId),
    tx.objectStore('checkpoints').delete(entry.unitId),
    tx.done,
  ])
}
