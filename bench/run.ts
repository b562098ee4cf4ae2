/**
 * `npm run bench`: measures side by side in one run and writes bench/results.json
 * (an array of `{ name, value, unit, baseline, ratio }`). Medians throughout; these machines are shared and noisy.
 */
import { writeFileSync } from 'node:fs'
import { benchKernel } from './kernel.ts'
import type { BenchRow } from './stats.ts'

const rows: BenchRow[] = []
const only = process.argv[2]

if (!only || only === 'kernel') rows.push(...(await benchKernel([256, 512], 5)))
if (!only || only === 'hub') {
  const { benchHub } = await import('./hub.ts')
  rows.push(...(await benchHub({ volunteers: 32 })))
}

console.table(
  rows.map((r) => ({
    name: r.name,
    value: `${r.value.toFixed(2)} ${r.unit}`,
    baseline: r.baseline ? `${r.baseline.value.toFixed(2)} (${r.baseline.name})` : '',
    ratio: r.ratio === null ? '' : r.ratio.toFixed(3),
  })),
)
writeFileSync('bench/results.json', JSON.stringify(rows, null, 2) + '\n')
console.log('wrote bench/results.json')
