/**
 * The hub's end-to-end rate: N simulated volunteers on loopback (each with its own device key, signing every request
 * like the app does) lease tiny matmul units (16 per lease), compute them with the JS kernel, and upload the results as
 * the app's outbox does (all that waits in one POST /results/batch; or one POST /results each, the second row); the
 * hub commits each result before acknowledging it, verifies it with Freivalds' check and credits it. The rate counts
 * units verified and credited per second of wall time, over several jobs (rounds of leases); latency is per request.
 */
import { generateDeviceKey, MeshworkError, type DeviceKey } from '../protocol/index.ts'
import { HubClient, type SubmitParameters } from '../src/lib/hub/client.ts'
import { bytesToF32, f32ToBytes } from '../protocol/encoding.ts'
import { matmulRows } from '../workloads/matmul/kernel-cpu.ts'
import { startHub } from '../e2e/start-hub.ts'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import path from 'node:path'
import { postgresBinDir, startCluster } from '../server/postgres-global-setup.ts'
import { DEFAULT_MAX_CONNECTIONS } from '../server/store/postgres.ts'
import { quantile, row, type BenchRow } from './stats.ts'
import { connectionArgs, databaseOf, PGBENCH_SECONDS, pgbenchHubTransactions, psqlOf, tableWrites, withDatabase, writesPerUnit, type WriteCounts } from './hub-pgbench.ts'

export interface HubBenchOptions {
  volunteers: number
  /** Units in each job (the run ends when all are credited). */
  units?: number
  /**
   * Jobs, all with the same inputs: volunteers run several rounds of leases and keep the input blocks they fetched (as
   * the app's input cache does), so the rate is not only the first round's rush for inputs. @default 4
   */
  jobs?: number
}

/**
 * The hub on SQLite, then on Postgres (a throwaway local cluster) with `pgbench` beside it: pgbench runs the same
 * writes one unit costs the Postgres store (a lease transaction that picks an unsent unit with SKIP LOCKED, marks it and
 * records the lease; a result transaction that stores the output, marks the unit done and appends a ledger row) on the
 * same server, with as many clients as the hub's connection pool and with 10 (the better rate counts).
 */
export async function benchHub(options: HubBenchOptions): Promise<BenchRow[]> {
  // BENCH_HUB_ENGINES: `sqlite` or `postgres` runs only that engine's part (unset: both).
  const engines = process.env.BENCH_HUB_ENGINES
  // BENCH_HUB_UPLOADS: `batch` or `single` runs only that way of uploading on SQLite (unset: both).
  const uploads = process.env.BENCH_HUB_UPLOADS
  // BENCH_HUB_RUNS: runs of the batched SQLite bench, the median one counting. @default 3
  const runs = Math.max(1, Number(process.env.BENCH_HUB_RUNS ?? 3))
  const rows: BenchRow[] = []
  if (engines !== 'postgres') {
    if (uploads !== 'single') rows.push(...(await medianRun(runs, 'SQLite', () => benchHubOn(options, 'SQLite'))))
    if (uploads !== 'batch') rows.push(...(await benchHubOn(options, 'SQLite', { single: true })).rows)
  }
  if (engines === 'sqlite') return rows
  const cluster = await startCluster()
  if ('error' in cluster.provided) {
    console.log(`hub on Postgres skipped: ${cluster.provided.error}`)
    return rows
  }
  try {
    const admin = cluster.provided.url
    // To watch the server while the bench runs (pg_stat_activity, locks): psql from the same Postgres binaries.
    console.log(`hub bench Postgres cluster: ${admin}`)
    const serverCpu = clusterCpu(admin)
    // BENCH_HUB_PIN=1: Postgres on CPU 0, everything else (hub, volunteers, pgbench's client) on CPU 1, so both runs
    // give the server the same core and their clients never take it: the rates compare how well each drives the server.
    if (process.env.BENCH_HUB_PIN) pinCores(admin)
    // BENCH_HUB_PG_PAIRS: pairs of runs, the hub's then pgbench's on the same fresh database; the median pair counts.
    const count = Math.max(1, Number(process.env.BENCH_HUB_PG_PAIRS ?? 3))
    const pairs: PostgresPair[] = []
    for (let i = 1; i <= count; i++) pairs.push(await postgresPair(options, admin, `bench_pair_${i}`, serverCpu))
    // This machine's speed swings by half and more from one minute to the next, pgbench's 10-second runs with it
    // (its server CPU a unit was 0.27 ms in one run and 0.50 ms in another): each pair's ratio compares two runs made
    // in the same minutes, and the pair with the median ratio gives every Postgres row, the others' ratios beside it.
    pairs.sort((a, b) => a.rate / a.pgbench.units - b.rate / b.pgbench.units)
    const ratios = pairs.map((p) => p.rate / p.pgbench.units)
    const median = pairs[Math.floor((count - 1) / 2)]
    if (count > 1) {
      console.log(
        `hub (Postgres) against pgbench, ${count} pairs of runs: ${pairs.map((p) => `${p.rate.toFixed(0)} / ${p.pgbench.units.toFixed(0)} = ${(p.rate / p.pgbench.units).toFixed(2)}`).join(', ')}; the median pair counts`,
      )
    }
    printWrites(median.hubWrites, median.pgbench.writes)
    const tps = pgbenchUnits(admin)
    const batched = pgbenchUnits(admin, BATCH, serverCpu)
    const { rate, serverCpuMs, hubCpuMs, volunteersCpuMs, rows: pg, pgbench: same } = median
    console.log(
      `Postgres server CPU per unit: hub ${serverCpuMs.toFixed(3)} ms, pgbench with the hub's transactions ${same.cpuMsPerUnit.toFixed(3)} ms, pgbench's minimal writes batched ${batched.cpuMsPerUnit.toFixed(3)} ms`,
    )
    // The most the hub could reach on this machine if its server work cost what pgbench's does: its own CPU and its
    // volunteers' stay. Against pgbench's rate, what the goal's ratio can be here at best.
    const cores = availableParallelism()
    const ceiling = (cores * 1000) / (hubCpuMs + volunteersCpuMs + same.cpuMsPerUnit)
    console.log(
      `hub (Postgres): with server work as cheap as pgbench's (${same.cpuMsPerUnit.toFixed(3)} ms a unit), the hub (${hubCpuMs.toFixed(3)} ms) and its volunteers (${volunteersCpuMs.toFixed(3)} ms) would cap ${cores} cores at ${ceiling.toFixed(0)} units/s: ${(ceiling / same.units).toFixed(2)} of pgbench's rate`,
    )
    const pairsNote = count > 1 ? `, median of ${count} pairs of runs` : ''
    return [
      ...rows,
      {
        ...pg[0],
        ...row(`${pg[0].name}${pairsNote}`, rate, 'units/s', { name: "pgbench running the hub's transactions on the same server, in the same minutes", value: same.units }),
      },
      ...(count > 1
        ? [
            row(`hub Postgres units/s over pgbench's, lowest of ${count} pairs`, ratios[0], 'ratio'),
            row(`hub Postgres units/s over pgbench's, highest of ${count} pairs`, ratios[count - 1], 'ratio'),
          ]
        : []),
      // Inverted so that, like the rows around it, the ratio is ours over the baseline's (units per server CPU-second).
      row(`hub Postgres units per server CPU-second against pgbench running the hub's transactions`, 1000 / serverCpuMs, 'units/CPU-s', {
        name: "pgbench, the hub's transactions",
        value: 1000 / same.cpuMsPerUnit,
      }),
      row(`hub Postgres units/s against pgbench's minimal writes for a unit, one unit per transaction`, rate, 'units/s', {
        name: 'pgbench, lease and result transactions of one unit',
        value: tps.units,
      }),
      row(`hub Postgres units/s against pgbench's minimal writes for a unit, batched like the hub (${BATCH} units per transaction)`, rate, 'units/s', {
        name: `pgbench, ${BATCH} units per transaction`,
        value: batched.units,
      }),
      row(`hub Postgres units per server CPU-second against pgbench's minimal writes, batched`, 1000 / serverCpuMs, 'units/CPU-s', {
        name: `pgbench, ${BATCH} units per transaction`,
        value: 1000 / batched.cpuMsPerUnit,
      }),
      ...pg.slice(1),
    ]
  } finally {
    await cluster.stop()
  }
}

/** One pair of Postgres runs (see benchHub): the hub's, then pgbench running its transactions, on one fresh database. */
interface PostgresPair {
  rate: number
  /** The server's CPU a unit in the hub's run (ms). */
  serverCpuMs: number
  hubCpuMs: number
  volunteersCpuMs: number
  hubWrites: ReturnType<typeof writesPerUnit>
  rows: BenchRow[]
  pgbench: ReturnType<typeof pgbenchHubTransactions>
}

/**
 * Creates the database `name` on the cluster at `admin`, runs the hub on it, then pgbench with the hub's transactions
 * on what the hub's run left (the same tables, indexes and functions), and drops it: every pair starts from the same
 * empty schema, and pgbench never finds another pair's rows.
 */
async function postgresPair(options: HubBenchOptions, admin: string, name: string, serverCpu: () => number): Promise<PostgresPair> {
  const psql = psqlOf(admin)
  psql(`DROP DATABASE IF EXISTS ${name}`)
  psql(`CREATE DATABASE ${name}`)
  const url = withDatabase(admin, name)
  try {
    let serverCpuMs = NaN
    let cpuBefore = 0
    let writesBefore: WriteCounts | undefined
    let hubWrites: ReturnType<typeof writesPerUnit> | undefined
    const { rows, hubCpuMs, volunteersCpuMs } = await benchHubOn(options, 'Postgres', {
      databaseUrl: url,
      onClockStart: () => {
        writesBefore = tableWrites(url)
        cpuBefore = serverCpu()
      },
      onClockStop: (units) => {
        // The server's CPU per unit: on this machine the hub and its volunteers take CPU from the server that pgbench
        // has to itself, so next to the rates this compares what each unit costs the server.
        serverCpuMs = ((serverCpu() - cpuBefore) * 1000) / units
        console.log(`hub (Postgres): server CPU per unit ${serverCpuMs.toFixed(3)} ms`)
        hubWrites = writesPerUnit(writesBefore!, tableWrites(url), units)
      },
    })
    const pgbench = pgbenchHubTransactions(url, serverCpu)
    const rate = rows[0].value
    console.log(
      `hub (Postgres), ${name}: ${rate.toFixed(0)} units/s against pgbench's ${pgbench.units.toFixed(0)}: ${(rate / pgbench.units).toFixed(2)}; server CPU a unit ${serverCpuMs.toFixed(3)} against ${pgbench.cpuMsPerUnit.toFixed(3)} ms: ${(pgbench.cpuMsPerUnit / serverCpuMs).toFixed(2)}`,
    )
    return { rate, serverCpuMs, hubCpuMs, volunteersCpuMs, hubWrites: hubWrites!, rows, pgbench }
  } finally {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

/**
 * The numeric fields of /proc/<pid>/stat after the command name (Linux): state is field 0, ppid 1, utime 11, stime 12,
 * cutime 13, cstime 14 (times in USER_HZ ticks).
 */
function procStat(pid: number | string): number[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number)
}

/** USER_HZ: the unit of /proc's CPU times. */
const TICKS_PER_SECOND = 100

/** CPU-seconds process `pid` (all its threads) has used so far; with `mainThread`, its main thread's alone. */
function processCpu(pid: number, mainThread = false): number {
  const f = procStat(mainThread ? `${pid}/task/${pid}` : pid)
  return (f[11] + f[12]) / TICKS_PER_SECOND
}

/**
 * CPU-seconds the cluster at `url` has used so far (its postmaster, its running processes, and those that ended): a
 * reading function, from the postmaster's /proc entries (Linux).
 */
function clusterCpu(url: string): () => number {
  const postmaster = postmasterOf(url)
  return () => {
    // Backends that just ended (pgbench's, when its run returns) count once the postmaster has reaped them.
    execFileSync('sleep', ['0.5'])
    // A backend reaped during the scan has left the scan but reached the postmaster's cutime only after it was read
    // (the hub's idle connections close as a run ends): then the scan is done again. A process that ended while being
    // read is left out of the scan; its CPU moves to the postmaster's cutime (checked below).
    for (;;) {
      const own = procStat(postmaster)
      let total = own[11] + own[12] + own[13] + own[14]
      for (const { stat } of childrenOf(postmaster)) total += stat[11] + stat[12]
      const after = procStat(postmaster)
      if (after[13] === own[13] && after[14] === own[14]) return total / TICKS_PER_SECOND
    }
  }
}

/** The pid of the postmaster of the cluster at `url` (the checkpointer's parent). */
function postmasterOf(url: string): string {
  const checkpointer = psqlOf(url)("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'").trim()
  return String(procStat(checkpointer)[1])
}

/** The processes whose parent is `parent`, with their /proc stat fields; one that ends while being read is left out. */
function childrenOf(parent: string): { pid: string; stat: number[] }[] {
  const children: { pid: string; stat: number[] }[] = []
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = procStat(pid)
      if (String(stat[1]) === parent) children.push({ pid, stat })
    } catch {
      // Ended while being read.
    }
  }
  return children
}

/** Pins the cluster at `url` (its postmaster and every process it has started) to CPU 0, and this process to CPU 1. */
function pinCores(url: string): void {
  const postmaster = postmasterOf(url)
  const pids = [postmaster, ...childrenOf(postmaster).map((c) => c.pid)]
  // New backends are forked from the postmaster and inherit its CPU; the hub is started after this, from this process.
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', '0', pid], { stdio: 'ignore' })
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  console.log(`pinned: Postgres ${pids.length} processes on CPU 0, the bench (hub, volunteers, pgbench) on CPU 1`)
}

/** The hub's writes per unit beside pgbench's, table by table: the evidence that the baseline does the hub's work. */
function printWrites(hub: ReturnType<typeof writesPerUnit>, bench: ReturnType<typeof writesPerUnit>): void {
  const tables = [...new Set([...Object.keys(hub.rows), ...Object.keys(bench.rows)])].sort()
  console.table(
    Object.fromEntries([
      ...tables.map((t) => [`${t} rows written`, { hub: round2(hub.rows[t] ?? 0), pgbench: round2(bench.rows[t] ?? 0) }]),
      ['commits', { hub: round2(hub.commits), pgbench: round2(bench.commits) }],
      ['WAL bytes', { hub: Math.round(hub.walBytes), pgbench: Math.round(bench.walBytes) }],
    ]),
  )
}

const round2 = (n: number) => Math.round(n * 100) / 100

/** Units per lease (the bench's volunteers ask for 16) and so per uploaded batch. */
const BATCH = 16

/**
 * Units per second pgbench reaches running one unit's lease and result transactions (see benchHub), the better of two
 * client counts; with `batch`, each transaction leases (then stores results for) `batch` units, as the hub does.
 */
export function pgbenchUnits(url: string, batch = 1, serverCpu?: () => number): { units: number; cpuMsPerUnit: number } {
  const bin = postgresBinDir()!
  const psql = psqlOf(url)
  psql(`DROP TABLE IF EXISTS b_units, b_leases, b_results, b_ledger;
    CREATE TABLE b_units (id bigint PRIMARY KEY, job_seq int NOT NULL DEFAULT 1, state text NOT NULL, lease_device text, deadline bigint, attempts int NOT NULL DEFAULT 0);
    CREATE INDEX b_units_unsent ON b_units (job_seq, id) WHERE state = 'unsent';
    CREATE TABLE b_leases (id bigserial PRIMARY KEY, unit_id bigint NOT NULL, device_id text NOT NULL, leased_at bigint NOT NULL, deadline bigint NOT NULL, state text NOT NULL DEFAULT 'live');
    CREATE INDEX ON b_leases (unit_id, device_id);
    CREATE TABLE b_results (id uuid PRIMARY KEY, unit_id bigint NOT NULL, device_id text NOT NULL, state text NOT NULL, output bytea NOT NULL, received_at bigint NOT NULL);
    CREATE TABLE b_ledger (seq bigserial PRIMARY KEY, device_id text NOT NULL, result_id uuid UNIQUE, amount double precision NOT NULL, created_at bigint NOT NULL);
    INSERT INTO b_units (id, state) SELECT g, 'unsent' FROM generate_series(1, ${batch > 1 ? 2_000_000 : 200_000}) g; ANALYZE b_units;`)
  const dir = mkdtempSync(path.join(tmpdir(), 'meshwork-pgbench-'))
  const script = path.join(dir, 'unit.sql')
  // Batched: one statement per transaction does for `batch` units what the single-unit script does for one (CTEs; the
  // leased ids travel to the result transaction as an array, as the hub's volunteer returns the units it leased).
  const batchedScript = `\\set dev random(1, 1000)
BEGIN;
WITH picked AS (SELECT id FROM b_units WHERE state = 'unsent' ORDER BY job_seq, id LIMIT ${batch} FOR UPDATE SKIP LOCKED),
  marked AS (UPDATE b_units u SET state = 'leased', lease_device = :dev, deadline = 1, attempts = attempts + 1 FROM picked WHERE u.id = picked.id RETURNING u.id),
  leased AS (INSERT INTO b_leases (unit_id, device_id, leased_at, deadline) SELECT id, :dev, 1, 2 FROM marked RETURNING unit_id)
SELECT string_agg(unit_id::text, ',') AS ids FROM leased \\gset
COMMIT;
BEGIN;
WITH stored AS (INSERT INTO b_results (id, unit_id, device_id, state, output, received_at)
    SELECT gen_random_uuid(), u, :dev, 'valid', decode(repeat('00', 1024), 'hex'), 3 FROM unnest(ARRAY[:ids]::bigint[]) AS u RETURNING id, device_id),
  returned AS (UPDATE b_leases SET state = 'returned' WHERE unit_id = ANY (ARRAY[:ids]::bigint[]) AND device_id = :dev::text),
  finished AS (UPDATE b_units SET state = 'done' WHERE id = ANY (ARRAY[:ids]::bigint[]))
INSERT INTO b_ledger (device_id, result_id, amount, created_at) SELECT device_id, id, 1, 4 FROM stored;
COMMIT;
`
  writeFileSync(
    script,
    batch > 1
      ? batchedScript
      : `\\set dev random(1, 1000)
BEGIN;
SELECT id AS uid FROM b_units WHERE state = 'unsent' ORDER BY job_seq, id LIMIT 1 FOR UPDATE SKIP LOCKED \\gset
UPDATE b_units SET state = 'leased', lease_device = :dev, deadline = 1, attempts = attempts + 1 WHERE id = :uid;
INSERT INTO b_leases (unit_id, device_id, leased_at, deadline) VALUES (:uid, :dev, 1, 2);
COMMIT;
BEGIN;
INSERT INTO b_results (id, unit_id, device_id, state, output, received_at) VALUES (gen_random_uuid(), :uid, :dev, 'valid', decode(repeat('00', 1024), 'hex'), 3);
UPDATE b_leases SET state = 'returned' WHERE unit_id = :uid AND device_id = :dev::text;
UPDATE b_units SET state = 'done' WHERE id = :uid;
INSERT INTO b_ledger (device_id, result_id, amount, created_at) SELECT device_id, id, 1, 4 FROM b_results WHERE unit_id = :uid;
COMMIT;
`,
  )
  const run = (clients: number) => {
    const cpuBefore = serverCpu?.() ?? 0
    const out = execFileSync(path.join(bin, 'pgbench'), [...connectionArgs(url), '-n', '-c', String(clients), '-j', '2', '-T', String(PGBENCH_SECONDS), '-f', script, databaseOf(url)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    // Each run of the script is one lease and one result transaction for `batch` units.
    const units = Number(/tps = ([\d.]+)/.exec(out)?.[1]) * batch
    const done = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]) * batch
    const cpuMsPerUnit = serverCpu ? ((serverCpu() - cpuBefore) * 1000) / done : NaN
    console.log(`pgbench: ${units.toFixed(0)} units/s (lease + result transactions of ${batch} unit${batch > 1 ? 's' : ''}, ${clients} clients)`)
    return { units, cpuMsPerUnit }
  }
  // As many clients as the hub's pool, and 10 (the pool's size before, and pgbench's best on 2 cores): the row takes
  // the better of the two, so a bigger pool cannot flatter the ratio by slowing pgbench down.
  try {
    if (DEFAULT_MAX_CONNECTIONS === 10) return run(10)
    const [a, b] = [run(10), run(DEFAULT_MAX_CONNECTIONS)]
    return a.units >= b.units ? a : b
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Runs `bench` `runs` times and keeps the rows of the run with the median rate (its first row), plus the slowest and
 * fastest rates: this machine's speed swings by a quarter and more from one minute to the next (the simulated
 * volunteers' CPU a unit, the same work in every run, moves with it), so one run says little.
 */
async function medianRun(runs: number, engine: string, bench: () => Promise<{ rows: BenchRow[] }>): Promise<BenchRow[]> {
  const results: BenchRow[][] = []
  for (let i = 0; i < runs; i++) results.push((await bench()).rows)
  if (runs === 1) return results[0]
  results.sort((a, b) => a[0].value - b[0].value)
  const rates = results.map((r) => r[0].value)
  console.log(`hub (${engine}): ${runs} runs, ${rates.map((r) => r.toFixed(0)).join(', ')} units/s; the median run's figures count`)
  const median = results[Math.floor((runs - 1) / 2)]
  return [
    { ...median[0], name: `${median[0].name}, median of ${runs} runs` },
    row(`${median[0].name}, slowest of ${runs} runs`, rates[0], median[0].unit),
    row(`${median[0].name}, fastest of ${runs} runs`, rates[runs - 1], median[0].unit),
    ...median.slice(1),
  ]
}

async function benchHubOn(
  { volunteers, units = 16384, jobs = 4 }: HubBenchOptions,
  engine: 'SQLite' | 'Postgres',
  {
    databaseUrl,
    single = false,
    onClockStart,
    onClockStop,
  }: {
    databaseUrl?: string
    single?: boolean
    /** Called when the clock starts: the hub is up and its jobs are created. */
    onClockStart?: () => void
    /** Called when the clock stops, with the units done: every one is verified and credited (the hub is still up). */
    onClockStop?: (units: number) => void
  } = {},
): Promise<{ rows: BenchRow[]; hubCpuMs: number; volunteersCpuMs: number }> {
  const tile = 16
  const side = Math.sqrt(units) * tile
  // Rate limits off: all simulated volunteers share one loopback network, and this measures the hub's throughput.
  const hub = await startHub({}, undefined, {
    MESHWORK_DEMO: 'off',
    MESHWORK_RATE_NETWORK: '0',
    MESHWORK_RATE_DEVICE: '0',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  })
  try {
    const created: { id: string; units: { total: number } }[] = []
    for (let j = 0; j < jobs; j++) {
      const response = await hub.owner('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workload: 'matmul', label: `bench ${j}`, params: { m: side, n: side, k: tile, tile, inputs: { kind: 'random', seed: 3 } } }),
      })
      if (!response.ok) throw new Error(`job creation failed: ${await response.text()}`)
      created.push((await response.json()) as { id: string; units: { total: number } })
    }
    const total = created.reduce((sum, job) => sum + job.units.total, 0)
    // Device keys are made before the clock starts (a volunteer's key exists long before it asks for work).
    const keys = await Promise.all(Array.from({ length: volunteers }, () => generateDeviceKey()))

    const submitMs: number[] = []
    const leaseMs: number[] = []
    let submitted = 0
    onClockStart?.()
    const hubCpuBefore = processCpu(hub.pid)
    const hubMainBefore = processCpu(hub.pid, true)
    const ownCpuBefore = process.cpuUsage()
    const started = performance.now()
    // Input blocks come from the hub once and are shared by all the simulated volunteers, as the peer network shares
    // them (the p2p bench measures that part): this bench measures the hub's lease, submit, verify and credit path.
    const blobs = new Map<string, Promise<Uint8Array>>()
    // A transient failure (a connection reset) is tried again, as the app's lease loop and outbox do; counted.
    let retries = 0
    const retrying = async <T>(call: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call()
        } catch (error) {
          if (!(error instanceof MeshworkError && error.transient) || attempt === 5) throw error
          retries++
          await new Promise((r) => setTimeout(r, 200 * attempt))
        }
      }
    }
    const volunteer = async (key: DeviceKey) => {
      const client = new HubClient(key, { baseUrl: hub.url })
      for (;;) {
        const t0 = performance.now()
        const lease = await retrying(() => client.lease(16, ['cpu']))
        leaseMs.push(performance.now() - t0)
        if (!lease.units.length) return
        // The units are computed one after another, as a volunteer's worker does, and go to the outbox; the uploader
        // sends what waits in one request (POST /results/batch), or with `single`, each result alone (POST /results).
        const done: SubmitParameters[] = []
        for (const unit of lease.units) {
          const [a, b] = await Promise.all(
            unit.inputs.map((h) => {
              if (!blobs.has(h)) blobs.set(h, retrying(() => client.blob(h)))
              return blobs.get(h)!
            }),
          )
          const spec = unit.spec as { m: number; n: number; k: number }
          const c = new Float32Array(spec.m * spec.n)
          matmulRows(bytesToF32(a), bytesToF32(b), c, spec.n, spec.k, 0, spec.m)
          done.push({ resultId: crypto.randomUUID(), unitId: unit.unitId, output: f32ToBytes(c), elapsedMs: 0, backend: 'cpu' })
        }
        if (single) {
          for (const result of done) {
            const t1 = performance.now()
            await retrying(() => client.submit(result))
            submitMs.push(performance.now() - t1)
          }
        } else {
          const t1 = performance.now()
          const { results } = await retrying(() => client.submitBatch(done))
          submitMs.push(performance.now() - t1)
          const refused = results.find((r) => !r.ok)
          if (refused) throw new Error(`the hub refused a result: ${JSON.stringify(refused)}`)
        }
        submitted += done.length
      }
    }
    const elapsed = () => ((performance.now() - started) / 1000).toFixed(1)
    // Progress, and where the time goes: results stored (acknowledged) against units verified and credited at the end.
    const progress = setInterval(() => console.log(`hub (${engine}): ${elapsed()} s, ${submitted} of ${total} results acknowledged`), 5000)
    await Promise.all(keys.map(volunteer))
    console.log(`hub (${engine}): ${elapsed()} s, every result acknowledged; waiting for verification and credit`)
    // Wait for the validator and credit loops to finish the last results.
    for (const job of created) {
      for (;;) {
        const progress = (await (await hub.owner(`/jobs/${job.id}`)).json()) as { state: string; units: { done: number } }
        if (progress.units.done === job.units.total) break
        // Not more often: counting a large job's units by state costs the server about 100 ms while units churn.
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
    clearInterval(progress)
    const seconds = (performance.now() - started) / 1000
    const hubCpuMs = ((processCpu(hub.pid) - hubCpuBefore) * 1000) / total
    // The event loop's thread: one core at most, so with SQLite (which runs on it) the rate's bound is 1 / this.
    const hubMainMs = ((processCpu(hub.pid, true) - hubMainBefore) * 1000) / total
    const own = process.cpuUsage(ownCpuBefore)
    const volunteersCpuMs = (own.user + own.system) / 1000 / total
    onClockStop?.(total)
    const rate = total / seconds
    const mode = single ? ', one result per request' : ''
    console.log(`hub (${engine}${mode}): ${total} units in ${jobs} jobs (${submitted} submitted) by ${volunteers} volunteers in ${seconds.toFixed(2)} s; ${retries} requests tried again`)
    // Where the machine's CPU goes: the simulated volunteers run on the hub's cores here (a real volunteer runs on its
    // own machine), so together with the hub they bound the rate whatever the database costs.
    console.log(
      `hub (${engine}${mode}): CPU per unit: hub process ${hubCpuMs.toFixed(3)} ms${engine === 'SQLite' ? ' (SQLite included)' : ''} (its event loop's thread ${hubMainMs.toFixed(3)} ms), simulated volunteers ${volunteersCpuMs.toFixed(3)} ms`,
    )
    const rows = [
      row(`hub end-to-end units/s (${volunteers} volunteers, ${engine}, durable acks${mode})`, rate, 'units/s'),
      row(`hub ${engine}${mode} CPU per unit, hub process`, hubCpuMs, 'ms'),
      row(`hub ${engine}${mode} CPU per unit, hub event loop thread`, hubMainMs, 'ms'),
      row(`hub ${engine}${mode} CPU per unit, simulated volunteers`, volunteersCpuMs, 'ms'),
      row(`hub ${engine}${mode} lease latency p50`, quantile(leaseMs, 0.5), 'ms'),
      row(`hub ${engine}${mode} lease latency p99`, quantile(leaseMs, 0.99), 'ms'),
      row(`hub ${engine}${mode} ${single ? 'submit' : 'batch submit'} latency p50`, quantile(submitMs, 0.5), 'ms'),
      row(`hub ${engine}${mode} ${single ? 'submit' : 'batch submit'} latency p99`, quantile(submitMs, 0.99), 'ms'),
    ]
    return { rows, hubCpuMs, volunteersCpuMs }
  } finally {
    await hub.stop()
  }
}
