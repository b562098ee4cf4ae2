/**
 * `npm run bench [part]`: measures side by side in one run and writes bench/results.json (an array of
 * `{ name, value, unit, baseline, ratio }`). Medians throughout; these machines are shared and noisy.
 *
 * Without a part every part runs and results.json is rewritten. With one (`npm run bench p2p`), only that part runs and
 * only its rows in results.json are replaced; the other parts' rows stay as they were.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { BenchRow } from './stats.ts'

interface Part {
  name: string
  /** Whether a row in results.json was written by this part (row names start with a part-specific prefix). */
  owns: (row: BenchRow) => boolean
  run: () => Promise<BenchRow[]>
}

const parts: Part[] = [
  {
    name: 'kernel',
    owns: (r) => r.name.startsWith('matmul cpu kernel'),
    run: async () => (await import('./kernel.ts')).benchKernel([256, 512, 1024]),
  },
  {
    name: 'gpu',
    owns: (r) => r.name.startsWith('matmul gpu'),
    run: async () => (await import('./gpu.ts')).benchGpu(),
  },
  {
    name: 'hub',
    owns: (r) => r.name.startsWith('hub '),
    run: async () => (await import('./hub.ts')).benchHub({ volunteers: Number(process.env.BENCH_VOLUNTEERS ?? 1000) }),
  },
  {
    name: 'p2p',
    owns: (r) => r.name.startsWith('p2p '),
    run: async () => (await import('./p2p.ts')).benchP2P(),
  },
]

const RESULTS = 'bench/results.json'
const only = process.argv[2]
if (only && !parts.some((p) => p.name === only)) {
  console.error(`Unknown bench part "${only}"; the parts are ${parts.map((p) => p.name).join(', ')} (or none for all).`)
  process.exit(2)
}

const fresh = new Map<string, BenchRow[]>()
for (const part of parts) if (!only || part.name === only) fresh.set(part.name, await part.run())

// A partial run keeps every row it did not measure, in the parts' order.
const previous: BenchRow[] = only && existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchRow[]) : []
const rows = parts.flatMap((part) => fresh.get(part.name) ?? previous.filter(part.owns))
rows.push(...previous.filter((r) => !parts.some((part) => part.owns(r))))

console.table(
  [...fresh.values()].flat().map((r) => ({
    name: r.name,
    value: `${r.value.toFixed(2)} ${r.unit}`,
    baseline: r.baseline ? `${r.baseline.value.toFixed(2)} (${r.baseline.name})` : '',
    ratio: r.ratio === null ? '' : r.ratio.toFixed(3),
  })),
)
writeFileSync(RESULTS, JSON.stringify(rows, null, 2) + '\n')
console.log(`wrote ${RESULTS}${only ? ` (${only} rows replaced, ${rows.length - fresh.get(only)!.length} others kept)` : ''}`)
