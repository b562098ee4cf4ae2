/**
 * Drains the outbox: uploads each waiting result, deletes it only after the hub acknowledges it (the hub acknowledges
 * only after its own commit), and retries failures with exponential backoff. It wakes at once when the browser comes
 * back online. A permanent rejection (4xx) is kept in the outbox with its error, never silently dropped, unless the
 * hub says the result can never be accepted.
 */
import { MeshworkError } from '../../../protocol/index.ts'
import type { HubClient } from '../hub/client.ts'
import { countOutbox, deleteOutbox, listOutbox, markOutboxAttempt, outputBytes, type OutboxEntry } from '../storage/index.ts'

export interface UploaderOptions {
  /** First retry delay. @default 1000 */
  minBackoffMs?: number
  /** Longest retry delay. @default 30000 */
  maxBackoffMs?: number
  /** Called after each change of the outbox (count) and after each acknowledgement. */
  onChange?: (event: { waiting: number; acked?: OutboxEntry; dropped?: { entry: OutboxEntry; reason: string } }) => void
}

export class Uploader {
  readonly #client: HubClient
  readonly #options: Required<Omit<UploaderOptions, 'onChange'>> & Pick<UploaderOptions, 'onChange'>
  #backoff: number
  #timer: ReturnType<typeof setTimeout> | undefined
  #draining = false
  #again = false
  #stopped = false
  #oneShot = false
  readonly #onOnline = () => this.kick(true)

  constructor(client: HubClient, options: UploaderOptions = {}) {
    this.#client = client
    this.#options = { minBackoffMs: 1000, maxBackoffMs: 30_000, ...options }
    this.#backoff = this.#options.minBackoffMs
    globalThis.addEventListener?.('online', this.#onOnline)
  }

  /** Uploads what waits now (or soon, if a drain is running); `resetBackoff` after a reconnect. */
  kick(resetBackoff = false): void {
    if (this.#stopped) return
    if (resetBackoff) this.#backoff = this.#options.minBackoffMs
    if (this.#draining) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    void this.#drain()
  }

  /** One pass over the outbox (the service worker's Background Sync): resolves when it ends and schedules no retry. */
  async drainOnce(): Promise<void> {
    this.#oneShot = true
    await this.#drain()
  }

  /** Stops retrying (the outbox keeps its entries for the next visit). */
  dispose(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    globalThis.removeEventListener?.('online', this.#onOnline)
  }

  async #drain(): Promise<void> {
    this.#draining = true
    let failed = false
    /** The hub's Retry-After on a 429, if the last failure had one. */
    let retryAfterMs = 0
    try {
      do {
        this.#again = false
        const entries = await listOutbox()
        this.#options.onChange?.({ waiting: entries.length })
        for (const entry of entries) {
          if (this.#stopped) return
          try {
            await this.#client.submit({ ...entry, output: await outputBytes(entry) })
            await deleteOutbox(entry.resultId)
            this.#backoff = this.#options.minBackoffMs
            this.#options.onChange?.({ waiting: await countOutbox(), acked: entry })
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error)
            if (error instanceof MeshworkError && !error.transient && (['forbidden', 'conflict', 'bad_request', 'payload_too_large'].includes(error.code))) {
              // The hub will never accept this result (not leased to us, already decided, malformed):
              // retrying forever would block the queue. Drop it and tell the user why.
              await deleteOutbox(entry.resultId)
              this.#options.onChange?.({ waiting: await countOutbox(), dropped: { entry, reason: message } })
              continue
            }
            await markOutboxAttempt(entry.resultId, message)
            if (error instanceof MeshworkError && error.retryAfterMs) retryAfterMs = error.retryAfterMs
            failed = true
            break
          }
        }
      } while (this.#again && !failed)
    } finally {
      this.#draining = false
    }
    if (failed && !this.#stopped && !this.#oneShot) {
      const delay = Math.max(this.#backoff, retryAfterMs)
      this.#backoff = Math.min(this.#options.maxBackoffMs, this.#backoff * 2)
      this.#timer = setTimeout(() => this.kick(), delay)
    }
  }
}
