/**
 * Runs the CPU matmul kernel through the product's own path (WorkerPool -> comlink -> compute worker) and reports
 * GFLOP/s per size. Driven by bench/run.ts in headless Chromium.
 */
import { WorkerPool } from '../src/lib/compute/pool.ts'
import { f32ToBytes } from '../protocol/encoding.ts'
import { randomMatrix } from '../workloads/matmul/generate.ts'

export interface KernelSample {
  n: number
  /** Median seconds per n x n x n product. */
  seconds: number
  gflops: number
  runs: number
}

async function benchKernel(sizes: number[], runs: number): Promise<KernelSample[]> {
  const pool = new WorkerPool(1)
  const out: KernelSample[] = []
  for (const n of sizes) {
    const inputs = [f32ToBytes(randomMatrix(n, n, 1)), f32ToBytes(randomMatrix(n, n, 2))]
    const times: number[] = []
    for (let r = 0; r < runs + 1; r++) {
      const outcome = await pool.run({ taskId: `bench-${n}-${r}`, workload: 'matmul', spec: { m: n, n, k: n }, inputs, backend: 'cpu' })
      if (!outcome.ok) throw new Error(outcome.message)
      // The first run warms the JIT; it is not counted.
      if (r > 0) times.push(outcome.elapsedMs / 1000)
    }
    times.sort((a, b) => a - b)
    const seconds = times[Math.floor(times.length / 2)]
    out.push({ n, seconds, gflops: (2 * n ** 3) / seconds / 1e9, runs })
  }
  pool.terminate()
  return out
}

;(globalThis as unknown as { benchKernel: typeof benchKernel }).benchKernel = benchKernel
