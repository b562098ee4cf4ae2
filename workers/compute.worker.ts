/// <reference lib="webworker" />
/** Module Web Worker entry: exposes the compute runtime through comlink, transferring outputs instead of copying. */
import { expose, releaseProxy, transfer, type Remote } from 'comlink'
import { computeRuntime } from './runtime.ts'
import type { ComputeWorkerApi } from './protocol.ts'

const api: ComputeWorkerApi = {
  async run(task, onProgress) {
    const outcome = await computeRuntime.run(task, onProgress)
    // The progress callback is a comlink proxy: release its port so long sessions do not leak one per task.
    ;(onProgress as unknown as Remote<unknown>)[releaseProxy]?.()
    return outcome.ok ? transfer(outcome, [outcome.output.buffer]) : outcome
  },
  cancel: computeRuntime.cancel,
  probeGpu: computeRuntime.probeGpu,
}

expose(api)
