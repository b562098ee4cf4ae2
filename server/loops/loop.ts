/**
 * A background loop, BOINC-daemon style: it runs one pass on a short interval, and `wake()` asks for a pass right away
 * (the hub wakes the validator after each commit of results, so a result is checked within milliseconds, not at the
 * next tick). Passes never overlap, and a pass that moved rows is followed at once by another, since more may wait.
 */
export interface Loop {
  readonly name: string
  /** Runs one pass after any pass in progress; resolves to how many rows it moved, rejects if the pass failed. */
  runOnce(): Promise<number>
  /** Asks for a pass on the next turn of the event loop. */
  wake(): void
  /** Starts the interval timer. */
  start(): void
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>
}

export interface LoopOptions {
  name: string
  /** One pass; resolves to how many rows it moved. */
  run: () => Promise<number>
  /** Time between passes when nothing wakes the loop. @default 200 */
  intervalMs?: number
  /** Called after a pass that moved rows (e.g. to wake the next loop). */
  onWork?: (moved: number) => void
  /** Called when a timer- or wake-driven pass fails; the loop keeps running. @default console.error */
  onError?: (error: unknown) => void
}

/** Creates a loop; call `start()` to run it on its interval. */
export function createLoop({ name, run, intervalMs = 200, onWork, onError = console.error }: LoopOptions): Loop {
  let tail: Promise<unknown> = Promise.resolve()
  let timer: ReturnType<typeof setInterval> | undefined
  let wakeScheduled = false
  let stopped = false

  const runOnce = (): Promise<number> => {
    const pass = tail.then(run)
    tail = pass.catch(() => undefined)
    return pass.then((moved) => {
      if (moved > 0) {
        onWork?.(moved)
        // A full batch may have left more behind.
        wake()
      }
      return moved
    })
  }

  const wake = (): void => {
    if (stopped || wakeScheduled) return
    wakeScheduled = true
    setImmediate(() => {
      wakeScheduled = false
      if (stopped) return
      runOnce().catch((error) => onError(new Error(`The ${name} loop failed; it will try again.`, { cause: error })))
    })
  }

  return {
    name,
    runOnce,
    wake,
    start() {
      stopped = false
      if (!timer) timer = setInterval(wake, intervalMs)
    },
    async stop() {
      stopped = true
      if (timer) clearInterval(timer)
      timer = undefined
      await tail
    },
  }
}
