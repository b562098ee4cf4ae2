export { openMeshworkDB, DB_NAME, outputBytes } from './db.ts'
export type { OutboxEntry, StoredDeviceKey } from './db.ts'
export { putOutbox, listOutbox, countOutbox, deleteOutbox, markOutboxAttempt } from './outbox.ts'
export { putLeases, listLeases, deleteLease, completeLease } from './leases.ts'
