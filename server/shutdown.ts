/** Graceful shutdown for the command-line entry points (`npm run hub`, `npm run chain`). */

/**
 * On the first SIGINT or SIGTERM, prints `<signal>: <what>`, runs `close` and exits 0 (1 if it throws); later signals
 * are ignored while it runs. Its `isStopping()` lets other exit paths can tell a requested stop from a crash.
 */
export function stopOnSignals(what: string, close: () => Promise<void>): { isStopping: () => boolean } {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: ${what}…`)
    close().then(
      () => process.exit(0),
      (error) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  return { isStopping: () => stopping }
}
