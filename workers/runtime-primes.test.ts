/** The worker runtime's primes dispatch, driven over a MessageChannel as in runtime.test.ts. */
import { describe, expect, it } from 'vitest'
import { proxy } from 'comlink'
import { connectRuntime as connect } from './test-channel.ts'
import { wasmSimdLevel } from './wasm-features.ts'
import { bytesToPrimesOutput, primesOutputToBytes } from '../workloads/primes/generate.ts'
import { getWorkload } from '../workloads/registry.ts'

describe('compute runtime: primes', () => {
  it('counts a unit with the WebAssembly kernel (and the JS one when forced) that the hub verifies, on the CPU even when leased for WebGPU', async () => {
    const api = connect()
    const spec = { lo: 0, hi: 3_000_000, block: 1_000_000 }
    const progress: number[] = []
    const outcome = await api.run({ taskId: 'p1', workload: 'primes', spec, inputs: [], backend: 'webgpu' }, proxy((f: number) => void progress.push(f)))
    expect(outcome).toMatchObject({ ok: true, backend: 'cpu', kernel: wasmSimdLevel() === 'none' ? 'js' : 'wasm-simd' })
    if (!outcome.ok) return
    const words = bytesToPrimesOutput(outcome.output)
    expect(words[0]).toBe(216816)
    expect(words[1]).toBe(78498)
    expect(getWorkload('primes')!.verify(spec, [], outcome.output, Math.random)).toMatchObject({ ok: true, note: expect.stringMatching(/^spot-checked/) })
    await expect.poll(() => progress.at(-1)).toBe(1)

    const js = await api.run({ taskId: 'p2', workload: 'primes', spec, inputs: [], backend: 'cpu', cpuKernel: 'js' }, proxy(() => {}))
    expect(js).toMatchObject({ ok: true, kernel: 'js' })
    if (js.ok) expect(Array.from(bytesToPrimesOutput(js.output))).toEqual(Array.from(words))
    expect(primesOutputToBytes(words)).toEqual(outcome.output)
  })

  it('stops when cancelled between blocks and refuses a bad spec as data', async () => {
    const api = connect()
    const spec = { lo: 0, hi: 100_000_000, block: 1_000_000 }
    let asked = false
    const outcome = await api.run(
      { taskId: 'long', workload: 'primes', spec, inputs: [], backend: 'cpu' },
      proxy(() => {
        if (!asked) void api.cancel('long')
        asked = true
      }),
    )
    expect(outcome).toMatchObject({ ok: false, code: 'cancelled' })
    const bad = await api.run({ taskId: 'bad', workload: 'primes', spec: { lo: 5, hi: 5, block: 1 }, inputs: [], backend: 'cpu' }, proxy(() => {}))
    expect(bad).toMatchObject({ ok: false, code: 'compute_failed', message: expect.stringMatching(/not a primes spec/) })
  })
})
