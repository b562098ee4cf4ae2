/** Small statistics helpers for benchmarks. */

/** The q-quantile (0..1) of `values` (nearest rank). */
export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** One row of bench/results.json. */
export interface BenchRow {
  name: string
  value: number
  unit: string
  /** What the value is compared with (a native baseline or a peer), and its value in the same unit. */
  baseline: { name: string; value: number } | null
  /** value / baseline.value, or null without a baseline. */
  ratio: number | null
}

/** Builds a row, computing the ratio. */
export function row(name: string, value: number, unit: string, baseline: BenchRow['baseline'] = null): BenchRow {
  return { name, value, unit, baseline, ratio: baseline ? value / baseline.value : null }
}
