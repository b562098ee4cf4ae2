import v8 from 'node:v8'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { randomMatrix } from './generate.ts'
import { matmulRows } from './kernel-cpu.ts'
import { instantiateMatmulWasm, matmulWasm, matmulWasmUrl, type MatmulWasmBuild } from './kernel-wasm.ts'
import { verifyMatmul } from './verify.ts'
import type { MatmulSpec } from './descriptor.ts'

// Node 20 (V8 11.3) validates relaxed SIMD only behind --experimental-wasm-relaxed-simd; Node 22+ and Chromium have
// it on. Setting the flag here, before any relaxed module is compiled, lets this process run that build too.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd')
const relaxedBytes = readFileSync(fileURLToPath(matmulWasmUrl('relaxed-simd')))
const relaxedValidates = WebAssembly.validate(relaxedBytes)

const noCancel = { onProgress: () => {}, isCancelled: () => false }

/** The JS kernel's product, the reference. */
function reference(spec: MatmulSpec, a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(spec.m * spec.n)
  matmulRows(a, b, c, spec.n, spec.k, 0, spec.m)
  return c
}

/** Largest |x - y| over two products. */
function maxDiff(x: Float32Array, y: Float32Array): number {
  let worst = 0
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]))
  return worst
}

const shapes: MatmulSpec[] = [
  { m: 1, n: 1, k: 1 },
  { m: 3, n: 5, k: 7 },
  { m: 33, n: 17, k: 65 },
  // k past one k-block (256) and not a multiple of it; m past one packed row block (64 and 72 rows).
  { m: 77, n: 24, k: 515 },
  { m: 6, n: 8, k: 256 },
  { m: 256, n: 256, k: 256 },
]

function kernelSuite(build: MatmulWasmBuild) {
  for (const spec of shapes) {
    it(`${spec.m}x${spec.n}x${spec.k} equals the JS kernel within float tolerance and passes verification`, async () => {
      const kernel = await instantiateMatmulWasm(build)
      const a = randomMatrix(spec.m, spec.k, spec.m + 1)
      const b = randomMatrix(spec.k, spec.n, spec.n + 2)
      const c = new Float32Array(spec.m * spec.n).fill(NaN)
      const progress: number[] = []
      expect(await matmulWasm(kernel, spec, a, b, c, { onProgress: (f) => progress.push(f), isCancelled: () => false })).toBe(true)
      // Entries are sums of k products of values in [-1, 1): f32 rounding in another summation order stays far below
      // 1e-5·k (about 1e-6·√k in practice).
      expect(maxDiff(c, reference(spec, a, b))).toBeLessThanOrEqual(1e-5 * spec.k)
      expect(verifyMatmul(spec, a, b, c, Math.random)).toEqual({ ok: true })
      expect(progress.at(-1)).toBe(1)
      expect(progress).toEqual([...progress].sort((x, y) => x - y))
    })
  }

  it('reuses one instance for units of different sizes (memory grows once, stale data does not leak in)', async () => {
    const kernel = await instantiateMatmulWasm(build)
    for (const spec of [{ m: 130, n: 70, k: 300 }, { m: 5, n: 3, k: 2 }, { m: 40, n: 41, k: 9 }, { m: 130, n: 70, k: 300 }]) {
      const a = randomMatrix(spec.m, spec.k, spec.k)
      const b = randomMatrix(spec.k, spec.n, spec.n)
      const c = new Float32Array(spec.m * spec.n)
      await matmulWasm(kernel, spec, a, b, c, noCancel)
      expect(maxDiff(c, reference(spec, a, b))).toBeLessThanOrEqual(1e-5 * spec.k)
    }
  })

  it('stops mid-unit when cancelled, between row slices, and says so', async () => {
    const kernel = await instantiateMatmulWasm(build)
    const spec = { m: 512, n: 512, k: 2048 }
    const c = new Float32Array(spec.m * spec.n)
    const progress: number[] = []
    let checks = 0
    const done = await matmulWasm(kernel, spec, randomMatrix(512, 2048, 3), randomMatrix(2048, 512, 4), c, {
      onProgress: (f) => progress.push(f),
      isCancelled: () => ++checks > 2,
    })
    expect(done).toBe(false)
    // Two slices ran, then the third check stopped it.
    expect(progress).toHaveLength(2)
    expect(progress[1]).toBeLessThan(0.5)
  })

  it('resumes from a checkpoint: rows saved at a slice boundary plus the rest equal the whole product', async () => {
    const spec = { m: 512, n: 256, k: 2048 }
    const a = randomMatrix(spec.m, spec.k, 5)
    const b = randomMatrix(spec.k, spec.n, 6)
    // A first run stopped after two slices; the checkpoint is c as it was at the last slice boundary.
    const first = new Float32Array(spec.m * spec.n)
    let saved = { done: 0, c: new Float32Array(0) }
    let checks = 0
    expect(
      await matmulWasm(await instantiateMatmulWasm(build), spec, a, b, first, {
        ...noCancel,
        isCancelled: () => ++checks > 2,
        onSlice: (done) => (saved = { done, c: first.slice() }),
      }),
    ).toBe(false)
    expect(saved.done).toBeGreaterThan(0)
    expect(saved.done).toBeLessThan(spec.m)
    // A fresh instance (a reload) resumes from it: progress starts at the checkpoint and the product is whole.
    const progress: number[] = []
    const c = saved.c
    expect(await matmulWasm(await instantiateMatmulWasm(build), spec, a, b, c, { ...noCancel, resumeAt: saved.done, onProgress: (f) => progress.push(f) })).toBe(true)
    expect(progress[0]).toBe(saved.done / spec.m)
    expect(maxDiff(c, reference(spec, a, b))).toBeLessThanOrEqual(1e-5 * spec.k)
  })
}

describe('matmul WebAssembly kernel, plain SIMD build (f32x4.mul + f32x4.add)', () => {
  it('is what WebAssembly.validate accepts on this engine', () => {
    expect(WebAssembly.validate(readFileSync(fileURLToPath(matmulWasmUrl('simd'))))).toBe(true)
  })
  kernelSuite('simd')
})

describe.runIf(relaxedValidates)(
  'matmul WebAssembly kernel, relaxed-SIMD build (f32x4.relaxed_madd; runs where WebAssembly.validate accepts it: Node 22+, or Node 20 with --experimental-wasm-relaxed-simd, set above)',
  () => {
    kernelSuite('relaxed-simd')
  },
)

describe('matmul WebAssembly kernel builds', () => {
  it('the relaxed-SIMD build uses f32x4.relaxed_madd and the plain one does not', () => {
    // Opcode 0xfd 0x105 (LEB128 0x85 0x02): f32x4.relaxed_madd.
    const hasRelaxedMadd = (bytes: Uint8Array) => bytes.some((x, i) => x === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02)
    expect(hasRelaxedMadd(relaxedBytes)).toBe(true)
    expect(hasRelaxedMadd(readFileSync(fileURLToPath(matmulWasmUrl('simd'))))).toBe(false)
  })
})
