/**
 * Drains the outbox: uploads the waiting results (several in one request when more than one waits), deletes each only
 * after the hub acknowledges it (the hub acknowledges only after its own commit), and retries failures with
 * exponential backoff. It wakes at once when the browser comes back online. A permanent rejection (4xx) is kept in the
 * outbox with its error, never silently dropped, unless the hub says the result can never be accepted.
 */
import { MAX_BATCH_RESULTS, MAX_RESULT_BODY_BYTES, MeshworkError, type ErrorCode } from '../../../protocol/index.ts'
import type { HubClient } from '../hub/client.ts'
import { countOutbox, deleteOutbox, listOutbox, markOutboxAttempt, outputBytes, outputSize, type OutboxEntry } from '../storage/index.ts'

export interface UploaderOptions {
  /** First retry delay. @default 1000 */
  minBackoffMs?: number
  /** Longest retry delay. @default 30000 */
  maxBackoffMs?: number
  /** Called after each change of the outbox (count) and after each acknowledgement (of one request's results). */
  onChange?: (event: { waiting: number; acked?: OutboxEntry[]; dropped?: { entry: OutboxEntry; reason: string } }) => void
}

interface UploadOutcome {
  /** The upload stopped at a result that must wait (the hub unreachable, busy or refusing it for now). */
  failed: boolean
  /** The hub's Retry-After, if it sent one. */
  retryAfterMs: number
}

/** Room left in a batch body for its envelope and each result's fields besides the output. */
const BATCH_ENVELOPE_BYTES = 1024
const RESULT_FIELDS_BYTES = 512

/**
 * Packs outbox entries, in order, into batches of at most MAX_BATCH_RESULTS whose bodies (outputs in base64) stay
 * within the hub's MAX_RESULT_BODY_BYTES; a result too large to share a batch goes alone.
 */
export function packBatches(entries: OutboxEntry[]): OutboxEntry[][] {
  const batches: OutboxEntry[][] = []
  let batch: OutboxEntry[] = []
  let bytes = BATCH_ENVELOPE_BYTES
  for (const entry of entries) {
    const size = Math.ceil(outputSize(entry) / 3) * 4 + RESULT_FIELDS_BYTES
    if (batch.length && (batch.length === MAX_BATCH_RESULTS || bytes + size > MAX_RESULT_BODY_BYTES)) {
      batches.push(batch)
      batch = []
      bytes = BATCH_ENVELOPE_BYTES
    }
    batch.push(entry)
    bytes += size
  }
  if (batch.length) batches.push(batch)
  return batches
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
        for (const batch of packBatches(entries)) {
          if (this.#stopped) return
          const outcome = batch.length === 1 ? await this.#uploadOne(batch[0]) : await this.#uploadBatch(batch)
          if (outcome.failed) {
            failed = true
            retryAfterMs = outcome.retryAfterMs
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

  /** Uploads one result alone (`POST /results`). */
  async #uploadOne(entry: OutboxEntry): Promise<UploadOutcome> {
    try {
      await this.#client.submit({ ...entry, output: await outputBytes(entry) })
    } catch (error) {
      return this.#refused(entry, error)
    }
    await this.#acked([entry])
    return { failed: false, retryAfterMs: 0 }
  }

  /**
   * Uploads several results in one request (`POST /results/batch`). A batch the hub refuses as a whole for good (it
   * should not happen: the entries were packed within the limits) is sent again one result at a time, so one bad
   * entry cannot hold back the others.
   */
  async #uploadBatch(batch: OutboxEntry[]): Promise<UploadOutcome> {
    let answers
    try {
      answers = (await this.#client.submitBatch(await Promise.all(batch.map(async (e) => ({ ...e, output: await outputBytes(e) }))))).results
    } catch (error) {
      if (error instanceof MeshworkError && !error.transient && error.code !== 'rate_limited') {
        for (const entry of batch) {
          const outcome = await this.#uploadOne(entry)
          if (outcome.failed) return outcome
        }
        return { failed: false, retryAfterMs: 0 }
      }
      // Transient (or rate limited): every result of the batch waits, each with this attempt recorded.
      return this.#wait(batch, error)
    }
    let outcome: UploadOutcome = { failed: false, retryAfterMs: 0 }
    const acked = batch.filter((entry, i) => answers[i]?.resultId === entry.resultId && answers[i].ok)
    if (acked.length) await this.#acked(acked)
    for (const [i, answer] of answers.entries()) {
      const entry = batch[i]
      if (!entry || answer.resultId !== entry.resultId || answer.ok) continue
      // The hub refuses single results of a batch only for good (a failure to store fails the whole request).
      const refused = await this.#refused(entry, new MeshworkError(answer.message, { code: answer.code as ErrorCode }))
      if (refused.failed && !outcome.failed) outcome = refused
    }
    return outcome
  }

  /** Removes what the hub acknowledged (one request's results) from the outbox, and says so once. */
  async #acked(entries: OutboxEntry[]): Promise<void> {
    await deleteOutbox(...entries.map((e) => e.resultId))
    this.#backoff = this.#options.minBackoffMs
    this.#options.onChange?.({ waiting: await countOutbox(), acked: entries })
  }

  /** Handles a refusal of `entry`: a result the hub will never accept is dropped (and reported); otherwise it waits. */
  async #refused(entry: OutboxEntry, error: unknown): Promise<UploadOutcome> {
    const message = error instanceof Error ? error.message : String(error)
    if (error instanceof MeshworkError && !error.transient && ['forbidden', 'conflict', 'bad_request', 'payload_too_large'].includes(error.code)) {
      // The hub will never accept this result (not leased to us, already decided, malformed):
      // retrying forever would block the queue. Drop it and tell the user why.
      await deleteOutbox(entry.resultId)
      this.#options.onChange?.({ waiting: await countOutbox(), dropped: { entry, reason: message } })
      return { failed: false, retryAfterMs: 0 }
    }
    return this.#wait([entry], error)
  }

  /** Records a failed attempt on each entry (they stay in the outbox for the next drain). */
  async #wait(entries: OutboxEntry[], error: unknown): Promise<UploadOutcome> {
    const message = error instanceof Error ? error.message : String(error)
    await markOutboxAttempt(entries.map((e) => e.resultId), message)
    return { failed: true, retryAfterMs: error instanceof MeshworkError && error.retryAfterMs ? error.retryAfterMs : 0 }
  }
}
