/**
 * The outbox upload the service worker runs on Background Sync: the same Uploader, HubClient and IndexedDB outbox the
 * page uses, signed with the same device key, so results upload even after the page was closed offline.
 */
import { Uploader } from '../contribute/uploader.ts'
import { HubClient } from '../hub/client.ts'
import { loadDeviceKey } from '../identity/index.ts'
import { countOutbox } from '../storage/index.ts'

/** Uploads what the outbox holds; rejects (so the browser retries the sync later) if anything is left. */
export async function uploadOutboxOnce(): Promise<void> {
  const key = await loadDeviceKey()
  if (!key || (await countOutbox()) === 0) return
  const uploader = new Uploader(new HubClient(key))
  try {
    await uploader.drainOnce()
  } finally {
    uploader.dispose()
  }
  const left = await countOutbox()
  if (left > 0) throw new Error(`${left} results still wait for the hub`)
}
