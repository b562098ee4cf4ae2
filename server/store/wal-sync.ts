/**
 * Group commit for SQLite in WAL mode: `sync()` resolves once everything committed before the call is on disk, by an
 * fsync of the `-wal` file on libuv's thread pool. Calls that arrive while a sync is running share the next one, so
 * the disk sees at most one sync in flight and one waiting however many requests commit meanwhile.
 */
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const fsync = promisify(fs.fsync)

export class WalSync {
  readonly #walFile: string
  #fd: number | undefined
  #inFlight: Promise<void> = Promise.resolve()
  /** The sync that starts when the one in flight ends (it covers every write made before it starts). */
  #next: Promise<void> | undefined

  /** `databaseFile`: the SQLite database (its log is `databaseFile-wal`). */
  constructor(databaseFile: string) {
    this.#walFile = `${databaseFile}-wal`
  }

  /** Resolves once everything committed before this call is durable. */
  sync(): Promise<void> {
    this.#next ??= this.#inFlight.then(
      () => this.#start(),
      () => this.#start(),
    )
    return this.#next
  }

  #start(): Promise<void> {
    this.#next = undefined
    this.#inFlight = fsync(this.#open())
    return this.#inFlight
  }

  #open(): number {
    if (this.#fd === undefined) {
      // The log exists while the database is open in WAL mode; its directory entry is synced once, so a log created
      // just before a power cut is still found after it.
      this.#fd = fs.openSync(this.#walFile, 'r')
      const dir = fs.openSync(path.dirname(this.#walFile), 'r')
      try {
        fs.fsyncSync(dir)
      } finally {
        fs.closeSync(dir)
      }
    }
    return this.#fd
  }

  /** Closes the log's descriptor (after the database is closed, or before: a later sync opens it again). */
  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd)
    this.#fd = undefined
  }
}
