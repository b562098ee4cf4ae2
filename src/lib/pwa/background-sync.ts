/** Asks the service worker to upload the outbox when connectivity returns (Background Sync, where the browser has it). */
import { OUTBOX_SYNC_TAG } from './messages.ts'

type SyncRegistration = ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }

/** Resolves true when a sync was registered; false without a service worker or Background Sync (the page retries). */
export async function requestOutboxSync(): Promise<boolean> {
  try {
    const registration = (await globalThis.navigator?.serviceWorker?.getRegistration()) as SyncRegistration | undefined
    if (!registration?.sync) return false
    await registration.sync.register(OUTBOX_SYNC_TAG)
    return true
  } catch {
    return false
  }
}
