import { describe, expect, it } from 'vitest'
import { MatmulParams, matmul } from './descriptor.ts'
import { assembleMatmul, generateMatmul, randomInputs, randomMatrix } from './generate.ts'
import { matmulCpu, matmulRows } from './kernel-cpu.ts'
import { cheaperCheck, FREIVALDS_ROUNDS, verifyMatmul } from './verify.ts'
import { bytesToF32 } from '../../protocol/encoding.ts'

/** Exact-ish reference product in f64, rounded to f32. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float32Array {
  const c = new Float32Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j]
      c[i * n + j] = s
    }
  return c
}

function seeded(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

const noCancel = { onProgress: () => {}, isCancelled: () => false }

describe('matmul CPU kernel', () => {
  it('matches an f64 reference on odd sizes', async () => {
    const spec = { m: 37, n: 29, k: 43 }
    const a = randomMatrix(spec.m, spec.k, 1)
    const b = randomMatrix(spec.k, spec.n, 2)
    const c = new Float32Array(spec.m * spec.n)
    const progress: number[] = []
    expect(await matmulCpu(spec, a, b, c, { onProgress: (f) => progress.push(f), isCancelled: () => false })).toBe(true)
    const ref = reference(a, b, spec.m, spec.n, spec.k)
    for (let i = 0; i < c.length; i++) expect(c[i]).toBeCloseTo(ref[i], 4)
    expect(progress.at(-1)).toBe(1)
  })

  it('stops when cancelled and says so', async () => {
    const spec = { m: 512, n: 512, k: 512 }
    const c = new Float32Array(spec.m * spec.n)
    let checks = 0
    const done = await matmulCpu(spec, randomMatrix(512, 512, 3), randomMatrix(512, 512, 4), c, {
      onProgress: () => {},
      isCancelled: () => ++checks > 1,
    })
    expect(done).toBe(false)
  })
})

describe.each(['freivalds', 'recompute'] as const)('matmul verifier (%s)', (check) => {
  const spec = { m: 64, n: 48, k: 256 }
  const a = randomMatrix(spec.m, spec.k, 10)
  const b = randomMatrix(spec.k, spec.n, 11)
  const good = new Float32Array(spec.m * spec.n)
  matmulRows(a, b, good, spec.n, spec.k, 0, spec.m)

  it('uses enough rounds for a false pass below 1e-9', () => {
    expect(0.5 ** FREIVALDS_ROUNDS).toBeLessThan(1e-9)
  })

  it('is the check the hub picks for some tile: recomputing small tiles, Freivalds for large ones', () => {
    expect(cheaperCheck({ m: 16, n: 16, k: 16 })).toBe('recompute')
    expect(cheaperCheck({ m: 256, n: 256, k: 1024 })).toBe('freivalds')
  })

  it('accepts correct products from the JS kernel and from an f64 reference', () => {
    expect(verifyMatmul(spec, a, b, good, seeded(1), check)).toEqual({ ok: true })
    expect(verifyMatmul(spec, a, b, reference(a, b, spec.m, spec.n, spec.k), seeded(2), check)).toEqual({ ok: true })
  })

  it('accepts a product summed in a different order (blocked, as a GPU tile does)', () => {
    const c = new Float32Array(spec.m * spec.n)
    for (let i = 0; i < spec.m; i++)
      for (let j = 0; j < spec.n; j++) {
        let acc = Math.fround(0)
        for (let p0 = 0; p0 < spec.k; p0 += 16) {
          let part = Math.fround(0)
          for (let p = p0; p < p0 + 16; p++) part = Math.fround(part + Math.fround(a[i * spec.k + p] * b[p * spec.n + j]))
          acc = Math.fround(acc + part)
        }
        c[i * spec.n + j] = acc
      }
    expect(verifyMatmul(spec, a, b, c, seeded(3), check)).toEqual({ ok: true })
  })

  it('rejects a product with one wrong element, wherever it is', () => {
    for (const [idx, delta] of [[0, 0.5], [spec.m * spec.n - 1, -0.5], [1234, 1], [777, 0.25]] as const) {
      const c = good.slice()
      c[idx] += delta
      const verdict = verifyMatmul(spec, a, b, c, seeded(idx), check)
      expect(verdict.ok).toBe(false)
      if (!verdict.ok) expect(verdict.reason).toContain(`row ${Math.floor(idx / spec.n)}`)
    }
  })

  it('rejects a transposed result', () => {
    const sq = { m: 32, n: 32, k: 32 }
    const sa = randomMatrix(32, 32, 20)
    const sb = randomMatrix(32, 32, 21)
    const c = reference(sa, sb, 32, 32, 32)
    const t = new Float32Array(c.length)
    for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) t[j * 32 + i] = c[i * 32 + j]
    expect(verifyMatmul(sq, sa, sb, t, seeded(4), check).ok).toBe(false)
  })

  it('rejects a result computed for other inputs', () => {
    const other = reference(randomMatrix(spec.m, spec.k, 99), b, spec.m, spec.n, spec.k)
    expect(verifyMatmul(spec, a, b, other, seeded(5), check).ok).toBe(false)
  })

  it('rejects results of the wrong shape and non-finite values, naming them', () => {
    const short = verifyMatmul(spec, a, b, good.subarray(0, good.length - 1), seeded(6), check)
    expect(short).toEqual({ ok: false, reason: expect.stringContaining('expected 64 x 48') })
    const nan = good.slice()
    nan[5] = NaN
    expect(verifyMatmul(spec, a, b, nan, seeded(7), check)).toEqual({ ok: false, reason: expect.stringContaining('(0, 5) is NaN') })
  })

  it('rejects an all-zero result (a client that skipped the work)', () => {
    expect(verifyMatmul(spec, a, b, new Float32Array(spec.m * spec.n), seeded(8), check).ok).toBe(false)
  })
})

describe('matmul generator', () => {
  it('splits a job into shared, content-addressed blocks and reassembles the product', async () => {
    const params = MatmulParams.parse({ m: 70, n: 50, k: 33, tile: 32, inputs: { kind: 'random', seed: 5 } })
    const { a, b } = randomInputs(params, 5)
    const job = await generateMatmul(params, a, b)
    expect(job.units).toHaveLength(3 * 2)
    // 3 row blocks of A + 2 column blocks of B, each stored once.
    expect(job.blobs.size).toBe(5)
    expect(job.units[0].inputs[0]).toBe(job.units[1].inputs[0])
    expect(job.units.at(-1)!.spec).toEqual({ m: 6, n: 18, k: 33 })
    expect(job.units.reduce((s, u) => s + u.costFlops, 0)).toBe(2 * 70 * 50 * 33)

    const outputs = job.units.map((u) => {
      const c = new Float32Array(u.spec.m * u.spec.n)
      matmulRows(bytesToF32(job.blobs.get(u.inputs[0])!), bytesToF32(job.blobs.get(u.inputs[1])!), c, u.spec.n, u.spec.k, 0, u.spec.m)
      return c
    })
    const full = assembleMatmul(params, (i) => outputs[i])
    const ref = reference(a, b, 70, 50, 33)
    for (let i = 0; i < full.length; i++) expect(full[i]).toBeCloseTo(ref[i], 4)
  })

  it('rejects job parameters out of range, naming the field', () => {
    const bad = MatmulParams.safeParse({ m: 0, n: 10, k: 10, inputs: { kind: 'random', seed: 1 } })
    expect(bad.success).toBe(false)
    expect(bad.error!.issues[0].path).toEqual(['m'])
    expect(MatmulParams.safeParse({ m: 10, n: 10, k: 10, tile: 4096, inputs: { kind: 'random', seed: 1 } }).success).toBe(false)
    expect(MatmulParams.safeParse({ m: 10, n: 10, k: 10, inputs: { kind: 'blobs', a: 'zz', b: 'zz' } }).success).toBe(false)
  })

  it('refuses a job that would split into more units than the hub holds per job', () => {
    const tiny = MatmulParams.safeParse({ m: 8192, n: 8192, k: 8, tile: 1, inputs: { kind: 'random', seed: 1 } })
    expect(tiny.success).toBe(false)
    expect(tiny.error!.issues[0]).toMatchObject({ path: ['tile'], message: expect.stringMatching(/at most 16384 units/) })
    expect(MatmulParams.safeParse({ m: 8192, n: 8192, k: 8, tile: 64, inputs: { kind: 'random', seed: 1 } }).success).toBe(true)
  })

  it('credits 2·m·n·k flops per unit', () => {
    expect(matmul.costFlops({ m: 256, n: 256, k: 1024 })).toBe(134_217_728)
  })
})
