/**
 * For tests: the compute runtime exposed on one end of a MessageChannel and driven through the other (as comlink's own
 * tests do), so the structured-clone and proxy path of a real worker is exercised without a Worker.
 */
import { afterEach } from 'vitest'
import { expose, wrap, type Remote } from 'comlink'
import { computeRuntime } from './runtime.ts'
import type { ComputeWorkerApi } from './protocol.ts'

let channel: MessageChannel | undefined

/** A fresh channel to the runtime; closed after each test. */
export function connectRuntime(): Remote<ComputeWorkerApi<Uint8Array>> {
  channel = new MessageChannel()
  expose(computeRuntime, channel.port1 as unknown as Parameters<typeof expose>[1])
  return wrap<ComputeWorkerApi<Uint8Array>>(channel.port2 as unknown as Parameters<typeof wrap>[0])
}

afterEach(() => {
  channel?.port1.close()
  channel?.port2.close()
})
