/**
 * `npm run bench [part]`: measures side by side in one run and writes bench/results.json (an array of
 * `{ name, value, unit, baseline, ratio }`). Medians throughout; these machines are shared and noisy.
 *
 * Without a part every part runs and results.json is rewritten. With one (`npm run bench p2p`), only that part runs and
 * only its rows in results.json are replaced; the other parts' rows stay as they were, and so do the rows of a part
 * that this run does not measure (`BENCH_HUB_ENGINES=postgres` replaces only the hub's Postgres rows).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { BenchRow } from './stats.ts'

interface Part {
  name: string
  /** Whether a row in results.json was written by this part (row names start with a part-specific prefix). */
  owns: (row: BenchRow) => boolean
  run: () => Promise<BenchRow[]>
  /** Rows of this part that this run does not measure (a run of one engine, say): they stay in results.json. */
  keeps?: (row: BenchRow) => boolean
  /** The order of this part's rows, fresh and kept together. */
  order?: (a: BenchRow, b: BenchRow) => number
}

/** The hub's rows by engine. */
const hubEngine = (r: BenchRow) => (r.name.includes('Postgres') ? 'postgres' : 'sqlite')
/** The hub's rows in the order it writes them: SQLite's batched uploads, its single uploads, Postgres. */
const hubRank = (r: BenchRow) => (hubEngine(r) === 'postgres' ? 2 : r.name.includes('one result per request') ? 1 : 0)

/**
 * Whether the hub's run leaves `r` alone: `BENCH_HUB_ENGINES` runs one engine's part, `BENCH_HUB_UPLOADS` one way of
 * uploading on SQLite (see hub.ts).
 */
function hubKeeps(r: BenchRow): boolean {
  const engines = process.env.BENCH_HUB_ENGINES
  const uploads = process.env.BENCH_HUB_UPLOADS
  if (engines && engines !== hubEngine(r)) return true
  return hubEngine(r) === 'sqlite' && !!uploads && (uploads === 'single') !== r.name.includes('one result per request')
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
    keeps: hubKeeps,
    order: (a, b) => hubRank(a) - hubRank(b),
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

// A partial run keeps every row it did not measure, in the parts' order (a full run keeps only the rows a part leaves
// alone, see Part.keeps).
const previous: BenchRow[] = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchRow[]) : []
const rows = parts.flatMap((part) => {
  const measured = fresh.get(part.name)
  if (!measured) return previous.filter(part.owns)
  const kept = previous.filter((r) => part.owns(r) && part.keeps?.(r))
  return kept.length && part.order ? [...measured, ...kept].sort(part.order) : [...measured, ...kept]
})
if (only) rows.push(...previous.filter((r) => !parts.some((part) => part.owns(r))))

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
