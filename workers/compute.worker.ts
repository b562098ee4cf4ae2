/// <reference lib="webworker" />
/**
 * Module Web Worker entry: exposes the compute runtime through comlink, transferring outputs (and inputs handed back
 * early) instead of copying them, or wrapping outputs in Blobs when the task asks.
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
    if (!outcome.ok) return outcome
    // A Blob made here costs the page nothing; a megabyte copied into one on the page's thread is a long task there.
    if (task.outputAs === 'blob') return { ...outcome, output: new Blob([outcome.output as Uint8Array<ArrayBuffer>]) }
    return transfer(outcome, [outcome.output.buffer])
  },
  cancel: computeRuntime.cancel,
  setDuty: computeRuntime.setDuty,
  probeGpu: computeRuntime.probeGpu,
}

expose(api)
