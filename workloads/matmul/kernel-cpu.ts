/**
 * The portable CPU kernel: f32 C = A·B in plain JavaScript, row by row (i-p-j order, so the inner loop streams
 * contiguous rows of B and C). It is the fallback where faster kernels are missing and the reference in tests.
 */
import type { CpuKernelContext } from '../types.ts'
import { createYielder } from '../yield.ts'
import type { MatmulSpec } from './descriptor.ts'

/** Rows per progress report / cancellation check: about 16 Mflop of work between checks. */
function rowsPerSlice(spec: MatmulSpec): number {
  return Math.max(1, Math.floor(16e6 / Math.max(1, 2 * spec.n * spec.k)))
}

/**
 * Computes `c = a·b` for one unit (rows from `ctx.resumeAt`, the ones before it already in c). Resolves false when
 * cancelled part-way (c is then incomplete).
 */
export async function matmulCpu(
  spec: MatmulSpec,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  ctx: CpuKernelContext,
): Promise<boolean> {
  const { m, n, k } = spec
  const slice = rowsPerSlice(spec)
  const yielder = createYielder()
  const from = Math.min(m, Math.max(0, ctx.resumeAt ?? 0))
  if (from > 0) ctx.onProgress(from / m)
  try {
    for (let i0 = from; i0 < m; i0 += slice) {
      if (ctx.isCancelled()) return false
      const i1 = Math.min(m, i0 + slice)
      matmulRows(a, b, c, n, k, i0, i1)
      ctx.onProgress(i1 / m)
      ctx.onSlice?.(i1)
      // Let the worker see cancel messages between slices.
      await yielder.yieldNow()
    }
  } finally {
    yielder.close()
  }
  return true
}

/** Rows [i0, i1) of C; four rows of B per pass so each C element is loaded and stored a quarter as often. */
export function matmulRows(a: Float32Array, b: Float32Array, c: Float32Array, n: number, k: number, i0: number, i1: number): void {
  const k4 = k - (k % 4)
  for (let i = i0; i < i1; i++) {
    const ci = i * n
    const ai = i * k
    c.fill(0, ci, ci + n)
    for (let p = 0; p < k4; p += 4) {
      const a0 = a[ai + p], a1 = a[ai + p + 1], a2 = a[ai + p + 2], a3 = a[ai + p + 3]
      const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n
      for (let j = 0; j < n; j++) {
        c[ci + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j]
      }
    }
    for (let p = k4; p < k; p++) {
      const ap = a[ai + p]
      const bp = p * n
      for (let j = 0; j < n; j++) c[ci + j] += ap * b[bp + j]
    }
  }
}
