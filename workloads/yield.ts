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

/** A yielder for one kernel run; its channel is opened at the first yield. */
export function createYielder(): Yielder {
  let channel: MessageChannel | undefined
  let wake: (() => void) | undefined
  return {
    yieldNow() {
      if (!channel) {
        channel = new MessageChannel()
        channel.port1.onmessage = () => wake?.()
      }
      const port = channel.port2
      return new Promise<void>((resolve) => {
        wake = resolve
        port.postMessage(null)
      })
    },
    close() {
      channel?.port1.close()
      channel?.port2.close()
    },
  }
}
