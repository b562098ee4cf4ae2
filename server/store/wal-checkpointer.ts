/**
 * Checkpoints an SQLite write-ahead log from a worker thread. A checkpoint copies committed pages from the WAL back
 * into the database file and syncs it; left to SQLite (`wal_autocheckpoint`), it runs inside whichever commit crosses
 * the threshold, on the hub's event loop, and with the hub's random-key indexes (result ids, device keys) that is an
 * fsync every few dozen commits, most of a commit's cost under load. Here a second connection checkpoints in PASSIVE
 * mode (never waiting for, or blocking, the hub's readers and writer) a few times a second; the hub's connection only
 * finishes the job now and then, so the log can start over (see WAL_RESTART_PAGES in sqlite.ts). Durability is unchanged:
 * a commit is durable by the WAL (acknowledged writes sync it, see wal-sync.ts), and a checkpoint only moves pages
 * already there.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** The worker's code (CommonJS, evaluated: no loader or build step needed in the thread). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file)
db.pragma('busy_timeout = 1000')
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) })
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.postMessage({ closed: true })
})
`

export interface WalCheckpointer {
  /** Stops the thread and closes its connection; resolves when both are done. */
  stop(): Promise<void>
}

export interface WalCheckpointerOptions {
  /** @default 100 */
  intervalMs?: number
  /** Called once if the thread fails: the caller turns SQLite's own checkpoints back on. */
  onFailure: (error: unknown) => void
}

/** Starts checkpointing `file` (a WAL-mode database) on a worker thread. */
export function startWalCheckpointer(file: string, { intervalMs = 100, onFailure }: WalCheckpointerOptions): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } })
  let failed = false
  let stopping = false
  const fail = (error: unknown) => {
    if (failed || stopping) return
    failed = true
    onFailure(error)
  }
  let closed: (() => void) | undefined
  worker.on('message', (message: { error?: string; closed?: boolean }) => {
    if (message.error) fail(new Error(`WAL checkpoint failed: ${message.error}`))
    if (message.closed) closed?.()
  })
  worker.on('error', fail)
  worker.on('exit', (code) => {
    closed?.()
    if (code !== 0) fail(new Error(`the WAL checkpoint thread exited with code ${code}`))
  })
  // The hub's shutdown stops it; it never keeps the process alive (a crash simply ends it: the WAL stays, and SQLite
  // recovers from it on the next open).
  worker.unref()
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping = true
    if (!failed) {
      worker.ref()
      await new Promise<void>((resolve) => {
        closed = resolve
        worker.postMessage('stop')
      })
    }
    await worker.terminate()
  }
  return {
    stop: () => (stopped ??= stop()),
  }
}
