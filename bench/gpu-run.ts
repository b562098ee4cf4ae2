/**
 * One n x n x n WGSL matmul measurement on a device, the same in a Chromium page (bench/gpu-page.ts) and in Node over
 * Dawn (bench/gpu.ts): the product's own runner (workers/gpu/matmul.ts) with its own dispatch sizing, timed by the
 * dispatches' GPU wall times (submit to completion; uploads and the read-back are left out, as the native baseline
 * leaves them out), and checked with the hub's own verification.
 */
import { matmulGpu } from '../workers/gpu/matmul.ts'
import { randomMatrix } from '../workloads/matmul/generate.ts'
import { chooseMatmulConfig, matmulProgram } from '../workloads/matmul/kernel-wgsl.ts'
import { verifyMatmul } from '../workloads/matmul/verify.ts'

export interface GpuRun {
  /** The WGSL program that ran (its configuration). */
  program: string
  /** Seconds of GPU work per product: the sum of its dispatches' times. */
  seconds: number[]
  /** Every dispatch's time, in ms, over all runs. */
  dispatchMs: number[]
  /** Whether every product passed the hub's verification. */
  verified: boolean
}

/** `runs` products after one warm-up (pipeline compilation, first dispatch sizing). */
export async function runGpuMatmul(device: GPUDevice, n: number, runs: number): Promise<GpuRun> {
  const a = randomMatrix(n, n, 1)
  const b = randomMatrix(n, n, 2)
  const seconds: number[] = []
  const dispatchMs: number[] = []
  let verified = true
  for (let r = 0; r <= runs; r++) {
    let ms = 0
    const times: number[] = []
    const c = await matmulGpu(device, { m: n, n, k: n }, a, b, { onProgress: () => {}, isCancelled: () => false }, {
      onDispatch: (_flops, t) => {
        ms += t
        times.push(t)
      },
    })
    if (!c || !verifyMatmul({ m: n, n, k: n }, a, b, c, Math.random).ok) verified = false
    if (r === 0) continue
    seconds.push(ms / 1000)
    dispatchMs.push(...times)
  }
  return { program: matmulProgram(chooseMatmulConfig(device.limits, n, n)).name, seconds, dispatchMs, verified }
}
