/**
 * The WGSL matmul kernels on SwiftShader through Dawn (the WebGPU implementation inside Chromium), against the JS
 * kernel: every configuration, sizes that are not whole tiles, and dispatches cut into column ranges and accumulated
 * k ranges. e2e/webgpu.spec.ts runs the same kernel in Chromium's compute worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomMatrix } from '../../workloads/matmul/generate.ts'
import { matmulRows } from '../../workloads/matmul/kernel-cpu.ts'
import { MATMUL_CONFIGS, matmulTile } from '../../workloads/matmul/kernel-wgsl.ts'
import { dawnAdapter } from './dawn.ts'
import { requestComputeDevice } from './device.ts'
import { matmulGpu } from './matmul.ts'
import { setDuty } from '../../workloads/yield.ts'

let device: GPUDevice

beforeAll(async () => {
  const found = await dawnAdapter(true)
  if ('reason' in found) throw new Error(`no SwiftShader WebGPU adapter: ${found.reason}`)
  device = await requestComputeDevice(found.adapter, 'matmul-test')
})
afterAll(() => device?.destroy())

const ctx = { onProgress: () => {}, isCancelled: () => false }

function check(m: number, n: number, k: number, c: Float32Array | undefined, a: Float32Array, b: Float32Array): void {
  const ref = new Float32Array(m * n)
  matmulRows(a, b, ref, n, k, 0, m)
  expect(c).toBeDefined()
  let worst = 0
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(c![i] - ref[i]))
  expect(worst).toBeLessThanOrEqual(1e-5 * k)
}

describe('WGSL matmul on SwiftShader', () => {
  for (const config of MATMUL_CONFIGS) {
    const { bm, bn, bk } = matmulTile(config)
    for (const [m, n, k] of [
      [1, 1, 1],
      [3, 5, 7],
      [77, 24, 515],
      [bm + 1, bn - 3, bk * 3 + 1],
      [256, 256, 256],
    ]) {
      it(`${bm}x${bn}x${bk} tiles: ${m}x${n}x${k}`, async () => {
        const a = randomMatrix(m, k, m + k)
        const b = randomMatrix(k, n, n + k)
        check(m, n, k, await matmulGpu(device, { m, n, k }, a, b, ctx, { config }), a, b)
      })
    }
  }

  it('cuts a product into k ranges under a small budget, accumulating over k, with the same result', async () => {
    const [m, n, k] = [256, 384, 200]
    const a = randomMatrix(m, k, 11)
    const b = randomMatrix(k, n, 12)
    const sizes: number[] = []
    const progress: number[] = []
    const c = await matmulGpu(device, { m, n, k }, a, b, { ...ctx, onProgress: (f) => progress.push(f) }, {
      config: MATMUL_CONFIGS[0],
      dispatchFlops: 2 * 128 * 128 * 64,
      onDispatch: (flops) => sizes.push(flops),
    })
    check(m, n, k, c, a, b)
    // A band of 128 rows and all 384 columns fits 16 of k in the budget: 2 bands x 13 accumulated k ranges (200 / 16).
    expect(sizes).toHaveLength(26)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * 128 * 128 * 64)
    expect(progress.at(-1)).toBe(1)
  })

  it('cuts columns too when even one k step of a full band is over budget', async () => {
    const [m, n, k] = [128, 512, 16]
    const a = randomMatrix(m, k, 13)
    const b = randomMatrix(k, n, 14)
    const sizes: number[] = []
    const c = await matmulGpu(device, { m, n, k }, a, b, ctx, { config: MATMUL_CONFIGS[0], dispatchFlops: 2 * 128 * 128 * 8, onDispatch: (f) => sizes.push(f) })
    check(m, n, k, c, a, b)
    // 4 column ranges of 128 x 2 k steps of 8.
    expect(sizes).toEqual(Array(8).fill(2 * 128 * 128 * 8))
  })

  it('follows the governor: at duty 0 it waits after the dispatch in flight, and goes on when work is allowed again', async () => {
    const [m, n, k] = [128, 128, 64]
    const a = randomMatrix(m, k, 21)
    const b = randomMatrix(k, n, 22)
    let dispatches = 0
    setDuty(0)
    try {
      const run = matmulGpu(device, { m, n, k }, a, b, ctx, { config: MATMUL_CONFIGS[0], dispatchFlops: 1, onDispatch: () => dispatches++ })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(dispatches).toBe(1)
      setDuty(1)
      check(m, n, k, await run, a, b)
      expect(dispatches).toBe(8)
    } finally {
      setDuty(1)
    }
  })

  it('stops between dispatches when cancelled', async () => {
    let dispatches = 0
    const c = await matmulGpu(device, { m: 256, n: 256, k: 256 }, randomMatrix(256, 256, 1), randomMatrix(256, 256, 2), { ...ctx, isCancelled: () => dispatches >= 2 }, {
      dispatchFlops: 1,
      onDispatch: () => dispatches++,
    })
    expect(c).toBeUndefined()
    expect(dispatches).toBe(2)
  })

  it('names the loss when the device is lost mid-product', async () => {
    const found = await dawnAdapter(true)
    if ('reason' in found) throw new Error(found.reason)
    const doomed = await requestComputeDevice(found.adapter, 'doomed')
    let dispatches = 0
    const run = matmulGpu(doomed, { m: 256, n: 256, k: 256 }, randomMatrix(256, 256, 1), randomMatrix(256, 256, 2), ctx, {
      dispatchFlops: 1,
      onDispatch: () => ++dispatches === 1 && doomed.destroy(),
    })
    await expect(run).rejects.toThrow(/the GPU device was lost/)
  })
})
