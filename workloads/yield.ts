/**
 * Yielding to the event loop between a kernel's slices, so the worker sees cancel messages and sends progress.
 *
 * A MessageChannel message, not setTimeout(0): browsers clamp nested timeouts to 4 ms from the fifth level on
 * (HTML's timer nesting rule), which cost the JS kernel about 40% of its time in a worker (4 ms after each ~5 ms
 * slice); a posted message takes microseconds, and a cancel message queued before it is handled first.
 */
export interface Yielder {
  /** Resolves once the event loop has run the tasks queued before this call. */
  yieldNow(): Promise<void>
  /** Closes the channel (a Node MessagePort with a listener would keep the process alive). */
  close(): void
}

/**
 * The duty cycle of this thread's kernels (the governor's throttle, src/lib/governor/): the fraction of the time they
 * compute. Below 1, a yield sleeps in proportion to the compute time since the last one, so busy / (busy + sleep) is
 * the duty over windows of a few slices (sleeps are gathered to at least 4 ms, for timer resolution, and taken in
 * steps of at most 100 ms, so a new duty applies within a tenth of a second). At 0 a kernel waits at its next yield, keeping its
 * progress, until the duty rises or `interruptPause()` lets it look for a cancellation.
 */
let duty = 1
let paused: (() => void)[] = []

/** Sets this thread's duty cycle (0 to 1). @default 1 */
export function setDuty(value: number): void {
  duty = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 1
  if (duty > 0) interruptPause()
}

/** This thread's duty cycle now (GPU dispatch loops read it between dispatches). */
export function currentDuty(): number {
  return duty
}

/** Wakes kernels waiting at duty 0 for one slice (they check for cancellation, then wait again). */
export function interruptPause(): void {
  for (const wake of paused.splice(0)) wake()
}

/**
 * Resolves once this thread may compute (at once unless the duty is 0). A task that arrived while paused waits here
 * before its first slice, so not even one slice runs while the governor has stopped work; `isCancelled` is checked
 * whenever `interruptPause()` wakes it.
 */
export async function untilAllowed(isCancelled: () => boolean = () => false): Promise<void> {
  while (duty === 0 && !isCancelled()) await new Promise<void>((resolve) => paused.push(resolve))
}

const MIN_SLEEP_MS = 4
const MAX_SLEEP_MS = 100

/** A yielder for one kernel run; its channel is opened at the first yield. */
export function createYielder(): Yielder {
  let channel: MessageChannel | undefined
  let wake: (() => void) | undefined
  let resumed = performance.now()
  /** Sleep owed for compute done at a duty below 1, in ms. */
  let owed = 0
  const post = () => {
    if (!channel) {
      channel = new MessageChannel()
      channel.port1.onmessage = () => wake?.()
    }
    const port = channel.port2
    return new Promise<void>((resolve) => {
      wake = resolve
      port.postMessage(null)
    })
  }
  return {
    async yieldNow() {
      const now = performance.now()
      if (duty === 0) {
        await new Promise<void>((resolve) => paused.push(resolve))
        owed = 0
      } else if (duty < 1) {
        owed += ((now - resumed) * (1 - duty)) / duty
        // Paid in sleeps of at most MAX_SLEEP_MS, looking at the duty between them: a slice of 20 ms at 5 % owes
        // 380 ms, all of it slept (the duty stays exact), yet a new duty still applies within a tenth of a second.
        while (owed >= MIN_SLEEP_MS && duty > 0 && duty < 1) {
          const start = performance.now()
          await new Promise((resolve) => setTimeout(resolve, Math.min(owed, MAX_SLEEP_MS)))
          owed = Math.max(0, owed - (performance.now() - start))
        }
        if (duty === 0) await new Promise<void>((resolve) => paused.push(resolve))
        if (duty === 0 || duty >= 1) owed = 0
      } else {
        owed = 0
      }
      // Always a posted message last: it resets the timer nesting level, and a cancel queued meanwhile comes first.
      await post()
      resumed = performance.now()
    },
    close() {
      channel?.port1.close()
      channel?.port2.close()
    },
  }
}
