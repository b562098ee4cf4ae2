/**
 * Runs the CPU matmul kernels through the product's own path (WorkerPool -> comlink -> compute worker) and reports
 * seconds per run. Driven by bench/kernel.ts in headless Chromium.
 */
import { WorkerPool } from '../src/lib/compute/pool.ts'
import { f32ToBytes } from '../protocol/encoding.ts'
import { MAX_TILE } from '../protocol/limits.ts'
import { randomMatrix } from '../workloads/matmul/generate.ts'
import { matmulRowSplit } from '../workloads/matmul/split.ts'
import type { CpuKernel } from '../workers/protocol.ts'
import { wasmSimdLevel } from '../workers/wasm-features.ts'

/** Units of an n x n x n product as a job splits it: tiles of at most MAX_TILE rows and columns of C. */
function productUnits(n: number): { spec: { m: number; n: number; k: number }; inputs: Uint8Array[] }[] {
  const a = randomMatrix(n, n, 1)
  const b = randomMatrix(n, n, 2)
  const tile = Math.min(n, MAX_TILE)
  const units = []
  for (let r = 0; r < n; r += tile) {
    for (let c = 0; c < n; c += tile) {
      const rows = Math.min(tile, n - r)
      const cols = Math.min(tile, n - c)
      const bBlock = new Float32Array(n * cols)
      for (let p = 0; p < n; p++) bBlock.set(b.subarray(p * n + c, p * n + c + cols), p * cols)
      units.push({ spec: { m: rows, n: cols, k: n }, inputs: [f32ToBytes(a.slice(r * n, (r + rows) * n)), f32ToBytes(bBlock)] })
    }
  }
  return units
}

let pool: WorkerPool | undefined
let taskCount = 0

/**
 * Seconds for each of `runs` n x n x n products with `kernel` on one worker (units run one after another; their
 * in-worker times are summed). One more run before them warms the JIT and grows the kernel's memory. Small products
 * are repeated within a run (and the time divided), since a worker's clock ticks in 0.1 ms steps in Chromium.
 */
async function benchKernel(n: number, kernel: CpuKernel, runs: number): Promise<number[]> {
  pool ??= new WorkerPool(1)
  const units = productUnits(n)
  const repeat = Math.max(1, Math.round(2 ** 28 / (2 * n ** 3)))
  const times: number[] = []
  for (let r = 0; r < runs + 1; r++) {
    let seconds = 0
    for (const unit of Array.from({ length: repeat }, () => units).flat()) {
      const outcome = await pool.run({ taskId: `bench-${++taskCount}`, workload: 'matmul', ...unit, backend: 'cpu', cpuKernel: kernel })
      if (!outcome.ok) throw new Error(outcome.message)
      if (outcome.kernel !== kernel) throw new Error(`asked for the ${kernel} kernel, ${outcome.kernel} ran`)
      seconds += outcome.elapsedMs / 1000
    }
    if (r > 0) times.push(seconds / repeat)
  }
  return times
}

/**
 * Wall seconds for one m x n x k unit through WorkerPool.runAcross on a pool of one worker and on a pool of
 * `workers`, alternating, `runs` times each after one warm-up of each. Both go through runAcross, so both hand their
 * inputs over the same way and only the number of workers differs. runAcross takes the input buffers, so each run
 * gets its own copy, made before its clock starts (as inputs fresh from the network or the input cache would be).
 */
async function benchAllCores(spec: { m: number; n: number; k: number }, workers: number, runs: number): Promise<{ one: number[]; all: number[] }> {
  const pools = { one: new WorkerPool(1), all: new WorkerPool(workers) }
  const a = f32ToBytes(randomMatrix(spec.m, spec.k, 3))
  const b = f32ToBytes(randomMatrix(spec.k, spec.n, 4))
  const times = { one: [] as number[], all: [] as number[] }
  try {
    for (let r = 0; r < runs + 1; r++) {
      for (const which of ['one', 'all'] as const) {
        const task = { taskId: `cores-${++taskCount}`, workload: 'matmul', spec, inputs: [a.slice(), b.slice()], backend: 'cpu' as const }
        const started = performance.now()
        const outcome = await pools[which].runAcross(task, matmulRowSplit)
        if (!outcome.ok) throw new Error(outcome.message)
        if (r > 0) times[which].push((performance.now() - started) / 1000)
      }
    }
  } finally {
    pools.one.terminate()
    pools.all.terminate()
  }
  return times
}

const api = { benchKernel, benchAllCores, wasmSimdLevel, cores: () => navigator.hardwareConcurrency }
export type KernelBenchApi = typeof api
;(globalThis as unknown as { kernelBench: KernelBenchApi }).kernelBench = api
