/**
 * The worker side of the pool: runs one task at a time per worker with the kernel its workload and backend call for,
 * reports progress, honours cancellation between slices, and returns errors as data. A lost GPU device is
 * recreated once; if the second attempt fails too the task fails with `compute_failed` and the pool retries it on
 * the CPU (the message says why).
 */
import { bytesToF32, f32ToBytes } from '../protocol/encoding.ts'
import { MatmulSpec } from '../workloads/matmul/descriptor.ts'
import { matmulCpu } from '../workloads/matmul/kernel-cpu.ts'
import { getGpuDevice, probeGpu } from './gpu/device.ts'
import { matmulGpu } from './gpu/matmul.ts'
import type { ComputeOutcome, ComputeTask, ComputeWorkerApi } from './protocol.ts'

const cancelled = new Set<string>()

async function runMatmul(task: ComputeTask, onProgress: (f: number) => void): Promise<Uint8Array | undefined> {
  const parsed = MatmulSpec.safeParse(task.spec)
  if (!parsed.success) throw new TypeError(`unit spec is not a matmul spec: ${parsed.error.issues[0]?.message}`)
  const spec = parsed.data
  const [aBytes, bBytes] = task.inputs
  if (!aBytes || aBytes.byteLength !== spec.m * spec.k * 4) throw new RangeError(`input A is ${aBytes?.byteLength ?? 0} bytes, expected ${spec.m * spec.k * 4}`)
  if (!bBytes || bBytes.byteLength !== spec.k * spec.n * 4) throw new RangeError(`input B is ${bBytes?.byteLength ?? 0} bytes, expected ${spec.k * spec.n * 4}`)
  const a = bytesToF32(aBytes)
  const b = bytesToF32(bBytes)
  const ctx = { onProgress, isCancelled: () => cancelled.has(task.taskId) }
  if (task.backend === 'webgpu') {
    let lastError: unknown
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const { device } = await getGpuDevice()
        const c = await matmulGpu(device, spec, a, b, ctx)
        return c && f32ToBytes(c)
      } catch (error) {
        lastError = error
      }
    }
    throw new Error(`WebGPU failed twice (${(lastError as Error)?.message ?? lastError})`)
  }
  const c = new Float32Array(spec.m * spec.n)
  return (await matmulCpu(spec, a, b, c, ctx)) ? f32ToBytes(c) : undefined
}

const kernels: Record<string, (task: ComputeTask, onProgress: (f: number) => void) => Promise<Uint8Array | undefined>> = {
  matmul: runMatmul,
}

/** The object a compute worker exposes. */
export const computeRuntime: ComputeWorkerApi = {
  async run(task, onProgress) {
    const kernel = kernels[task.workload]
    if (!kernel) return { ok: false, code: 'bad_request', message: `this client has no kernel for workload "${task.workload}"` }
    const started = performance.now()
    try {
      const output = await kernel(task, onProgress)
      if (!output) return { ok: false, code: 'cancelled', message: `task ${task.taskId} was cancelled` }
      return { ok: true, output, elapsedMs: performance.now() - started, backend: task.backend } satisfies ComputeOutcome
    } catch (error) {
      return { ok: false, code: 'compute_failed', message: error instanceof Error ? error.message : String(error) }
    } finally {
      cancelled.delete(task.taskId)
    }
  },
  cancel(taskId) {
    cancelled.add(taskId)
  },
  probeGpu,
}
