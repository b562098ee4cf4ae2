/**
 * Freivalds' check of a returned tile: C = A·B holds iff C·r = A·(B·r) for random r, at O(mk + kn + mn) per round
 * instead of the O(mnk) of recomputing.
 *
 * Rounds. r has independent random signs (±1). If C ≠ A·B, some row e of the error E = C − A·B is nonzero, and for a
 * nonzero e, P(e·r = 0) ≤ 1/2 (fix every sign but one at a nonzero entry of e: at most one of its two values can
 * zero the sum). So a wrong product passes one round with probability ≤ 1/2 and all 30 with ≤ 2^-30 ≈ 9.3e-10 < 1e-9.
 * A single wrong element δ at (i, j) gives |(E·r)_i| = |δ| in every round, so it is caught every time it exceeds the
 * tolerance below.
 *
 * Tolerance. A correct client computes in f32, so C carries rounding error: per element, under Higham & Mary's
 * probabilistic model ("A new approach to probabilistic rounding error analysis", SISC 2019), a length-k f32 dot
 * product errs by at most λ·√k·u·Σ_l |a_il·b_lj| with probability ≥ 1 − 2k·exp(−λ²/2) (u = 2^-24; λ = 9 makes that
 * failure < 1e-13 for k ≤ 8192). The check sums row i's errors with random signs, so by Hoeffding
 * |Σ_j e_ij·r_j| ≤ 8·√(Σ_j e_ij²) except with probability 2·exp(−32) ≈ 2.5e-14, and by Cauchy–Schwarz
 * Σ_l |a_il·b_lj| ≤ ‖A_i‖₂·‖B_:j‖₂, so Σ_j e_ij² ≤ (λ√k·u·‖A_i‖₂·‖B‖_F)². Hence the per-row tolerance
 *     tol_i = 72 · √k · u · ‖A_i‖₂ · ‖B‖_F  (+ u·Σ_j |c_ij| for storing C in f32),
 * which any summation order (blocked, FMA, GPU tiles) satisfies, and a correct result is wrongly rejected with
 * probability < 1e-9 per unit. The check itself runs in f64, whose own error is negligible beside tol.
 * Kernels that use lower precision than f32 (f16, TF32) need a workload version with its own tolerance.
 */
import type { Verdict } from '../types.ts'
import type { MatmulSpec } from './descriptor.ts'

export const FREIVALDS_ROUNDS = 30
const U = 2 ** -24
const TOLERANCE_FACTOR = 72

/** A uniform [0, 1) source; the hub passes a cryptographic one so clients cannot predict r. */
export type RandomSource = () => number

/** How a product is checked: Freivalds' rounds, or recomputing it (cheaper for small tiles; exact, not probabilistic). */
export type MatmulCheck = 'freivalds' | 'recompute'

/** The cheaper check for a unit: recomputing costs m·n·k multiply-adds, Freivalds' rounds ROUNDS·(mk + kn + mn). */
export function cheaperCheck({ m, n, k }: Pick<MatmulSpec, 'm' | 'n' | 'k'>): MatmulCheck {
  return m * n * k <= FREIVALDS_ROUNDS * (m * k + k * n + m * n) ? 'recompute' : 'freivalds'
}

/** Verifies that `c` is `a·b` for the unit `spec`, by the cheaper check unless `check` says which. */
export function verifyMatmul(
  spec: MatmulSpec,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  random: RandomSource,
  check: MatmulCheck = cheaperCheck(spec),
): Verdict {
  const { m, n, k } = spec
  if (a.length !== m * k || b.length !== k * n) {
    return { ok: false, reason: `inputs do not match the unit (A ${a.length} elements, B ${b.length}; spec ${m}x${k}, ${k}x${n})` }
  }
  if (c.length !== m * n) {
    return { ok: false, reason: `output has ${c.length} elements, expected ${m} x ${n} = ${m * n}` }
  }
  for (let i = 0; i < c.length; i++) {
    if (!Number.isFinite(c[i])) {
      return { ok: false, reason: `output element (${Math.floor(i / n)}, ${i % n}) is ${c[i]}, not a finite number` }
    }
  }

  if (check === 'recompute') return recompute(spec, a, b, c)

  let froB2 = 0
  for (let i = 0; i < b.length; i++) froB2 += b[i] * b[i]
  const froB = Math.sqrt(froB2)
  const tol = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    let rowA2 = 0
    for (let p = 0; p < k; p++) rowA2 += a[i * k + p] * a[i * k + p]
    let rowC1 = 0
    for (let j = 0; j < n; j++) rowC1 += Math.abs(c[i * n + j])
    tol[i] = TOLERANCE_FACTOR * Math.sqrt(k) * U * Math.sqrt(rowA2) * froB + U * rowC1 + Number.MIN_VALUE
  }

  const r = new Float64Array(n)
  const br = new Float64Array(k)
  for (let round = 0; round < FREIVALDS_ROUNDS; round++) {
    // 32 independent signs from each draw (the source gives 53 random bits; the top 32 are used).
    for (let j = 0; j < n; j += 32) {
      const bits = Math.floor(random() * 4294967296)
      for (let b = 0; b < 32 && j + b < n; b++) r[j + b] = (bits >>> b) & 1 ? -1 : 1
    }
    for (let p = 0; p < k; p++) {
      let s = 0
      const row = p * n
      for (let j = 0; j < n; j++) s += b[row + j] * r[j]
      br[p] = s
    }
    for (let i = 0; i < m; i++) {
      let abr = 0
      const rowA = i * k
      for (let p = 0; p < k; p++) abr += a[rowA + p] * br[p]
      let cr = 0
      const rowC = i * n
      for (let j = 0; j < n; j++) cr += c[rowC + j] * r[j]
      const diff = Math.abs(cr - abr)
      if (!(diff <= tol[i])) {
        return {
          ok: false,
          reason: `row ${i} of the product is wrong: Freivalds round ${round + 1} differs by ${diff.toPrecision(3)} (tolerance ${tol[i].toPrecision(3)})`,
        }
      }
    }
  }
  return { ok: true }
}

/**
 * Recomputes every element in f64 and compares: |c_ij − s_ij| must stay within max(λ√k, k)·u·Σ_l |a_il·b_lj| + u·|c_ij|
 * (λ = 9: the probabilistic bound of the module comment, per element; k·u: the worst case of any summation order, which
 * is the larger one for small k), so a correct f32 result passes and any element off by more is named.
 */
function recompute({ m, n, k }: MatmulSpec, a: Float32Array, b: Float32Array, c: Float32Array): Verdict {
  const factor = Math.max(9 * Math.sqrt(k), k) * U
  const sum = new Float64Array(n)
  const abs = new Float64Array(n)
  for (let i = 0; i < m; i++) {
    sum.fill(0)
    abs.fill(0)
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]
      const row = p * n
      for (let j = 0; j < n; j++) {
        const t = aip * b[row + j]
        sum[j] += t
        abs[j] += Math.abs(t)
      }
    }
    for (let j = 0; j < n; j++) {
      const cij = c[i * n + j]
      const diff = Math.abs(cij - sum[j])
      const tol = factor * abs[j] + U * Math.abs(cij) + Number.MIN_VALUE
      if (!(diff <= tol)) {
        return {
          ok: false,
          reason: `row ${i} of the product is wrong: element (${i}, ${j}) is ${cij.toPrecision(6)}, recomputed ${sum[j].toPrecision(6)} (tolerance ${tol.toPrecision(3)})`,
        }
      }
    }
  }
  return { ok: true }
}
