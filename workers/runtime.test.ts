/**
 * The worker protocol, tested without a Worker (as comlink's own tests do): the runtime is exposed on one end of a
 * MessageChannel and driven through the other, so the same structured-clone and proxy path is exercised.
 */
import { describe, expect, it } from 'vitest'
import { proxy } from 'comlink'
import { connectRuntime as connect } from './test-channel.ts'
import { wasmSimdLevel } from './wasm-features.ts'
import { f32ToBytes, bytesToF32 } from '../protocol/encoding.ts'
import { randomMatrix } from '../workloads/matmul/generate.ts'
import { verifyMatmul } from '../workloads/matmul/verify.ts'

describe('compute runtime over a message channel', () => {
  it('computes a matmul unit that passes verification and reports progress up to 1', async () => {
    const api = connect()
    const spec = { m: 48, n: 40, k: 64 }
    const a = randomMatrix(spec.m, spec.k, 1)
    const b = randomMatrix(spec.k, spec.n, 2)
    const progress: number[] = []
    const outcome = await api.run(
      { taskId: 't1', workload: 'matmul', spec, inputs: [f32ToBytes(a), f32ToBytes(b)], backend: 'cpu' },
      proxy((f: number) => void progress.push(f)),
    )
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect(outcome.backend).toBe('cpu')
    expect(verifyMatmul(spec, a, b, bytesToF32(outcome.output), Math.random)).toEqual({ ok: true })
    await expect.poll(() => progress.at(-1)).toBe(1)
  })

  it('stops a running task when cancelled and returns the cancellation as data', async () => {
    const api = connect()
    // About 2 Gflop: tens of ms for the WebAssembly kernel, a second or more for the JS one; cancelled at the first
    // progress report, so it stops part-way with either.
    const spec = { m: 512, n: 512, k: 4096 }
    const inputs = [f32ToBytes(randomMatrix(512, 4096, 3)), f32ToBytes(randomMatrix(4096, 512, 4))]
    const started = performance.now()
    let cancelAsked = false
    const progress: number[] = []
    const outcome = await api.run(
      { taskId: 'long', workload: 'matmul', spec, inputs, backend: 'cpu' },
      proxy((f: number) => {
        progress.push(f)
        if (!cancelAsked) void api.cancel('long')
        cancelAsked = true
      }),
    )
    expect(outcome).toEqual({ ok: false, code: 'cancelled', message: 'task long was cancelled' })
    expect(progress.at(-1)).toBeLessThan(1)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('runs the WebAssembly SIMD kernel where the engine has SIMD, and the JS kernel when a task asks for it', async () => {
    const api = connect()
    const spec = { m: 20, n: 30, k: 40 }
    const a = randomMatrix(spec.m, spec.k, 5)
    const b = randomMatrix(spec.k, spec.n, 6)
    const level = wasmSimdLevel()
    expect(level).not.toBe('none')
    for (const [cpuKernel, expected] of [
      [undefined, level === 'relaxed-simd' ? 'wasm-relaxed-simd' : 'wasm-simd'],
      ['wasm-simd', 'wasm-simd'],
      ['js', 'js'],
    ] as const) {
      const task = { taskId: `k-${cpuKernel}`, workload: 'matmul', spec, inputs: [f32ToBytes(a), f32ToBytes(b)], backend: 'cpu' as const }
      const outcome = await api.run(cpuKernel ? { ...task, cpuKernel } : task, proxy(() => {}))
      expect(outcome).toMatchObject({ ok: true, kernel: expected })
      if (outcome.ok) expect(verifyMatmul(spec, a, b, bytesToF32(outcome.output), Math.random)).toEqual({ ok: true })
    }
  })

  it('answers bad tasks with errors that name the problem', async () => {
    const api = connect()
    const unknown = await api.run({ taskId: 'x', workload: 'nope', spec: {}, inputs: [], backend: 'cpu' }, proxy(() => {}))
    expect(unknown).toEqual({ ok: false, code: 'bad_request', message: 'this client has no kernel for workload "nope"' })
    const short = await api.run(
      { taskId: 'y', workload: 'matmul', spec: { m: 4, n: 4, k: 4 }, inputs: [new Uint8Array(8), new Uint8Array(64)], backend: 'cpu' },
      proxy(() => {}),
    )
    expect(short).toEqual({ ok: false, code: 'compute_failed', message: 'input A is 8 bytes, expected 64' })
    if (wasmSimdLevel() !== 'relaxed-simd') {
      // Node 20 without --experimental-wasm-relaxed-simd: a task that forces the relaxed build fails, naming it.
      const forced = await api.run(
        { taskId: 'z', workload: 'matmul', spec: { m: 1, n: 1, k: 1 }, inputs: [new Uint8Array(4), new Uint8Array(4)], backend: 'cpu', cpuKernel: 'wasm-relaxed-simd' },
        proxy(() => {}),
      )
      expect(forced).toEqual({ ok: false, code: 'compute_failed', message: 'this engine has no WebAssembly relaxed SIMD for the wasm-relaxed-simd kernel' })
    }
  })
})
