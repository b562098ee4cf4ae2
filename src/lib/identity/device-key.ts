/**
 * The device's identity: an Ed25519 key pair created on the first Contribute and kept in IndexedDB. The private key is
 * a non-extractable CryptoKey, so it never leaves this browser; the hub knows the device by its public key.
 */
import { generateDeviceKey, type DeviceKey } from '../../../protocol/index.ts'
import { openMeshworkDB } from '../storage/db.ts'

const KEY = 'device'

/** The stored device key, or undefined before the first contribution. */
export async function loadDeviceKey(): Promise<DeviceKey | undefined> {
  const db = await openMeshworkDB()
  const stored = await db.get('device', KEY)
  return stored && { deviceId: stored.deviceId, privateKey: stored.privateKey }
}

/** The stored device key, created and stored first if there is none. */
export async function ensureDeviceKey(): Promise<DeviceKey> {
  const existing = await loadDeviceKey()
  if (existing) return existing
  const created = await generateDeviceKey()
  const db = await openMeshworkDB()
  const tx = db.transaction('device', 'readwrite')
  // Another tab may have created one meanwhile: keep the first.
  const raced = await tx.store.get(KEY)
  if (!raced) await tx.store.put({ ...created, createdAt: Date.now() }, KEY)
  await tx.done
  return raced ? { deviceId: raced.deviceId, privateKey: raced.privateKey } : created
}
