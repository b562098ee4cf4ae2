/// <reference lib="webworker" />
/**
 * Module Web Worker entry: exposes the compute runtime through comlink, transferring outputs (and inputs handed back
 * early) instead of copying them.
 */
import '../src/lib/csp.ts'
import { expose, releaseProxy, transfer, type Remote } from 'comlink'
import { computeRuntime } from './runtime.ts'
import type { ComputeWorkerApi } from './protocol.ts'

const api: ComputeWorkerApi = {
  async run(task, onProgress, onInputsFree) {
    const handBack = onInputsFree && ((inputs: Uint8Array[]) => onInputsFree(transfer(inputs, [...new Set(inputs.map((i) => i.buffer as ArrayBuffer))])))
    const outcome = await computeRuntime.run(task, onProgress, handBack)
    // The callbacks are comlink proxies: release their ports so long sessions do not leak one per task.
    ;(onProgress as unknown as Remote<unknown>)[releaseProxy]?.()
    ;(onInputsFree as unknown as Remote<unknown> | undefined)?.[releaseProxy]?.()
    return outcome.ok ? transfer(outcome, [outcome.output.buffer]) : outcome
  },
  cancel: computeRuntime.cancel,
  setDuty: computeRuntime.setDuty,
  probeGpu: computeRuntime.probeGpu,
}

expose(api)
