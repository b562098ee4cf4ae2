import { describe, expect, it } from 'vitest'
import { getWorkload } from '../registry.ts'
import type { CpuKernelContext } from '../types.ts'
import {
  assemblePrimes,
  blockCount,
  bytesToPrimesOutput,
  countPrimesJs,
  generatePrimes,
  instantiatePrimesWasm,
  primes,
  primesCost,
  primesCpu,
  primesOutputToBytes,
  primesWasm,
  PrimesParams,
  verifyPrimes,
  type PrimesSpec,
} from './index.ts'

const ctx = (onProgress: (f: number) => void = () => {}, isCancelled = () => false): CpuKernelContext => ({ onProgress, isCancelled })

/** Trial division: the slowest, most obviously right reference, for small ranges. */
function naiveCount(lo: number, hi: number): number {
  let count = 0
  for (let v = Math.max(lo, 2); v < hi; v++) {
    let prime = true
    for (let d = 2; d * d <= v; d++) {
      if (v % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

async function runUnit(spec: PrimesSpec, kernel: 'js' | 'wasm'): Promise<Uint32Array> {
  const out = new Uint32Array(1 + blockCount(spec))
  const done = kernel === 'js' ? await primesCpu(spec, out, ctx()) : await primesWasm(await instantiatePrimesWasm(), spec, out, ctx())
  expect(done).toBe(true)
  return out
}

describe('primes kernels', () => {
  it('resume from a checkpoint: blocks counted before it are kept and the total covers every block', async () => {
    const spec: PrimesSpec = { lo: 0, hi: 1e7, block: 1e6 }
    const whole = await runUnit(spec, 'wasm')
    // A first run stopped after 3 blocks; the checkpoint is the output as it was then.
    const out = new Uint32Array(1 + blockCount(spec))
    let checks = 0
    let done = 0
    expect(await primesWasm(await instantiatePrimesWasm(), spec, out, { ...ctx(() => {}, () => ++checks > 3), onSlice: (d) => (done = d) })).toBe(false)
    expect(done).toBe(3)
    const progress: number[] = []
    expect(await primesCpu(spec, out, { ...ctx((f) => progress.push(f)), resumeAt: done })).toBe(true)
    expect(progress[0]).toBe(0.3)
    expect(Array.from(out)).toEqual(Array.from(whole))
    expect(out[0]).toBe(664579)
  })

  it('count known values of π(x)', async () => {
    expect(countPrimesJs(0, 1e6)).toBe(78498)
    expect(countPrimesJs(0, 1e7)).toBe(664579)
    const wasm = await runUnit({ lo: 0, hi: 1e7, block: 1e6 }, 'wasm')
    expect(wasm[0]).toBe(664579)
    expect(wasm[1]).toBe(78498)
    expect((await runUnit({ lo: 0, hi: 1e6, block: 1e6 }, 'js'))[0]).toBe(78498)
  })

  it('handle the 0, 1, 2 edges and tiny ranges', async () => {
    const cases: [number, number, number][] = [
      [0, 1, 0], [0, 2, 0], [0, 3, 1], [1, 2, 0], [1, 3, 1], [2, 3, 1], [2, 4, 2], [3, 4, 1], [4, 5, 0], [0, 11, 4],
      [24, 29, 0], [24, 30, 1], [97, 98, 1], [100, 101, 0],
    ]
    for (const [lo, hi, expected] of cases) {
      expect(countPrimesJs(lo, hi), `[${lo}, ${hi}) js`).toBe(expected)
      expect((await runUnit({ lo, hi, block: 1 + Math.floor((hi - lo) / 2) }, 'wasm'))[0], `[${lo}, ${hi}) wasm`).toBe(expected)
    }
  })

  it('agree with trial division on ranges not starting at 0, with ragged blocks', async () => {
    for (const [lo, hi, block] of [[1000, 5000, 333], [999_983, 1_010_000, 1234], [1e9, 1e9 + 20_000, 7000], [49, 50, 1], [10, 10_000, 9990]]) {
      const expected = naiveCount(lo, hi)
      const js = await runUnit({ lo, hi, block }, 'js')
      const wasm = await runUnit({ lo, hi, block }, 'wasm')
      expect(js[0]).toBe(expected)
      expect(Array.from(wasm)).toEqual(Array.from(js))
      const spec = { lo, hi, block }
      for (let i = 0; i < blockCount(spec); i++) {
        const bLo = lo + i * block
        expect(js[1 + i]).toBe(naiveCount(bLo, Math.min(hi, bLo + block)))
      }
    }
  })

  it('agree with each other near 10^12 (the largest hi), where base primes reach 10^6', async () => {
    const spec = { lo: 1e12 - 3_000_000, hi: 1e12, block: 1e6 }
    const js = await runUnit(spec, 'js')
    const wasm = await runUnit(spec, 'wasm')
    expect(Array.from(wasm)).toEqual(Array.from(js))
    // π(10^12) − π(10^12 − 10^6) is 36249 (primes near 10^12 are about 1 in ln 10^12 ≈ 27.6).
    expect(countPrimesJs(1e12 - 1e6, 1e12)).toBe(js[3])
    expect(js[3]).toBeGreaterThan(35_000)
    expect(js[3]).toBeLessThan(37_500)
  })

  it('report progress per block and stop when cancelled', async () => {
    const spec = { lo: 0, hi: 4e6, block: 1e6 }
    const seen: number[] = []
    await primesWasm(await instantiatePrimesWasm(), spec, new Uint32Array(5), ctx((f) => seen.push(f)))
    expect(seen).toEqual([0.25, 0.5, 0.75, 1])
    let calls = 0
    const out = new Uint32Array(5)
    const done = await primesCpu(spec, out, ctx(() => calls++, () => calls >= 2))
    expect(done).toBe(false)
    expect(calls).toBe(2)
  })
})

describe('primes generator', () => {
  it('splits [lo, hi) into units with the cost model', () => {
    const job = generatePrimes(PrimesParams.parse({ lo: 5, hi: 25_000_005, unitSpan: 1e7, block: 1e6 }))
    expect(job.units.map((u) => u.spec)).toEqual([
      { lo: 5, hi: 10_000_005, block: 1e6 },
      { lo: 10_000_005, hi: 20_000_005, block: 1e6 },
      { lo: 20_000_005, hi: 25_000_005, block: 1e6 },
    ])
    expect(job.units.every((u) => u.inputs.length === 0)).toBe(true)
    expect(job.blobs.size).toBe(0)
    const cost = primesCost({ lo: 0, hi: 1e7 })
    expect(cost).toBe(Math.round(1e7 * (1 + Math.log(Math.log(1e7))) + Math.sqrt(1e7)))
    expect(primesCost({ lo: 0, hi: 2 })).toBeGreaterThan(0)
  })

  it('rejects bad params naming the field', () => {
    const issue = (params: unknown) => {
      const r = PrimesParams.safeParse(params)
      return r.success ? undefined : { path: r.error.issues[0].path.join('.'), message: r.error.issues[0].message }
    }
    expect(issue({ lo: 10, hi: 10 })).toMatchObject({ path: 'hi', message: 'hi must be greater than lo' })
    expect(issue({ lo: 0, hi: 1e12 + 1 })?.path).toBe('hi')
    expect(issue({ lo: -1, hi: 10 })?.path).toBe('lo')
    expect(issue({ lo: 0.5, hi: 10 })?.path).toBe('lo')
    expect(issue({ lo: 0, hi: 10, unitSpan: 1e8 + 1 })?.path).toBe('unitSpan')
    expect(issue({ lo: 0, hi: 10, block: 1e6 + 1 })?.path).toBe('block')
    expect(issue({ lo: 0, hi: 1e8, unitSpan: 1e7, block: 1000 })).toMatchObject({ path: 'block' })
    expect(issue({ lo: 0, hi: 1e12, unitSpan: 1e6, block: 1e6 })?.path).toBe('unitSpan')
    expect(issue({ lo: 0, hi: 10, extra: 1 })).toBeDefined()
    expect(() => generatePrimes({ lo: 3, hi: 2, unitSpan: 1, block: 1 })).toThrow(/params\.hi: hi must be greater than lo/)
  })

  it('assembles the job total as a u64', () => {
    const params = PrimesParams.parse({ lo: 0, hi: 25, unitSpan: 10, block: 5 })
    const outputs = [primesOutputToBytes(Uint32Array.of(4, 3, 1)), primesOutputToBytes(Uint32Array.of(4, 2, 2)), primesOutputToBytes(Uint32Array.of(1, 1))]
    const bytes = assemblePrimes(params, (i) => outputs[i])
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(9n)
  })
})

describe('primes verifier', () => {
  const spec: PrimesSpec = { lo: 1000, hi: 11_000, block: 1000 }
  const random = () => Math.random()

  it('accepts a correct result and says it was spot-checked', async () => {
    const words = await runUnit(spec, 'js')
    const verdict = verifyPrimes(spec, words, random)
    expect(verdict).toMatchObject({ ok: true, note: expect.stringMatching(/^spot-checked: recomputed blocks \d, \d of 10/) })
  })

  it('catches a wrong block count when it picks that block, and a total that is not the sum', async () => {
    const good = await runUnit(spec, 'js')
    const bad = good.slice()
    bad[1 + 3] += 1
    bad[0] += 1
    // A random source that picks block 3 first: the first draw j = floor(r·10) = 3.
    const picks3 = (() => {
      const draws = [0.35, 0]
      return () => draws.shift() ?? 0
    })()
    expect(verifyPrimes(spec, bad, picks3)).toEqual({ ok: false, reason: expect.stringMatching(/^block 3 \[4000, 5000\) holds \d+ primes, the result says \d+/) })
    const wrongTotal = good.slice()
    wrongTotal[0] += 1
    expect(verifyPrimes(spec, wrongTotal, random)).toEqual({ ok: false, reason: expect.stringMatching(/is not the sum of the block counts/) })
    // Every block of a unit with at most SPOT_BLOCKS blocks is recomputed, so a wrong one is always caught.
    const small: PrimesSpec = { lo: 0, hi: 2000, block: 1000 }
    const smallBad = await runUnit(small, 'js')
    smallBad[2] -= 1
    smallBad[0] -= 1
    expect(verifyPrimes(small, smallBad, random).ok).toBe(false)
  })

  it('rejects impossible counts and wrong lengths through the hub adapter', async () => {
    const hub = getWorkload('primes')!
    expect(hub.descriptor).toBe(primes)
    const good = primesOutputToBytes(await runUnit(spec, 'js'))
    expect(hub.verify(spec, [], good, random)).toMatchObject({ ok: true })
    expect(hub.verify(spec, [], good.subarray(0, 8), random)).toMatchObject({ ok: false, reason: expect.stringMatching(/output is 8 bytes, expected 44/) })
    const words = bytesToPrimesOutput(good)
    words[0] += 600 - words[1]
    words[1] = 600
    expect(hub.verify(spec, [], primesOutputToBytes(words), random)).toMatchObject({ ok: false, reason: expect.stringMatching(/claims 600 primes, more than the 501 possible/) })
  })
})
