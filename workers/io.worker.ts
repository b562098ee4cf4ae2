/// <reference lib="webworker" />
/**
 * The contribute loop's byte-heavy I/O, off the main thread: fetching input blobs from the hub (and checking their
 * hashes), and uploading the result outbox (reading entries from IndexedDB, encoding, signing, sending). The page
 * holds only Blob handles and counts, so no megabyte is copied, encoded or hashed where it would block the interface:
 * with every compute worker busy, the main thread has no task longer than 50 ms (e2e/governor.spec.ts).
 */
import '../src/lib/csp.ts'
import { expose } from 'comlink'
import { MeshworkError } from '../protocol/index.ts'
import { Uploader } from '../src/lib/contribute/uploader.ts'
import { HubClient } from '../src/lib/hub/client.ts'
import { loadDeviceKey } from '../src/lib/identity/index.ts'
import type { IoWorkerApi, UploadEvent } from './io-protocol.ts'

let uploader: Uploader | undefined
const clients = new Map<string, HubClient>()

/** An unsigned client per hub origin, for blobs (anyone may fetch them; their hash is what makes them trusted). */
function blobClient(baseUrl: string): HubClient {
  let client = clients.get(baseUrl)
  if (!client) clients.set(baseUrl, (client = new HubClient(undefined, { baseUrl })))
  return client
}

const api: IoWorkerApi = {
  async fetchInput(baseUrl, hash) {
    try {
      const bytes = await blobClient(baseUrl).blob(hash)
      return { ok: true, data: new Blob([bytes as Uint8Array<ArrayBuffer>]) }
    } catch (error) {
      // Errors travel as data: comlink would keep only a thrown error's message, and the page needs code and transient.
      if (error instanceof MeshworkError) return { ok: false, code: error.code, message: error.shortMessage, transient: error.transient }
      return { ok: false, code: 'network', message: error instanceof Error ? error.message : String(error), transient: true }
    }
  },

  async startUploads({ baseUrl, partner }, onChange) {
    if (uploader) return true
    const key = await loadDeviceKey()
    if (!key) return false
    uploader = new Uploader(new HubClient(key, { baseUrl, partner }), {
      onChange: ({ waiting, acked, dropped }) => {
        const event: UploadEvent = { waiting }
        if (acked) event.acked = acked.map((a) => ({ resultId: a.resultId, unitId: a.unitId }))
        if (dropped) event.dropped = { unitId: dropped.entry.unitId, reason: dropped.reason }
        void onChange(event)
      },
    })
    return true
  },

  kickUploads(resetBackoff = false) {
    uploader?.kick(resetBackoff)
  },
}

expose(api)
