/**
 * pgbench running the hub's own transactions: the baseline the hub's Postgres rate is held against.
 *
 * After the hub's run, on the same database (its schema, its functions, its indexes, its tables as the run left them),
 * pgbench runs rounds shaped like the hub's busiest path: one lease group of 32 devices x 16 units (the hub's own
 * `meshwork_lease_many`, as its lease queue calls it), the results stored in three transactions (as the ingest groups
 * uploads: the same locks, checks and writes as `insertResults`), the verdicts of the 512 results in one transaction
 * (`validatePending`: the read that locks them, then `recordVerdicts`' locks and writes for valid results), and their
 * credit (the credit loop's read, hourly window, ledger transaction, decision rows and job check). Nothing runs in
 * between: no HTTP, no signatures, no checks of outputs, no event loop; only the database's share of each unit.
 *
 * That the two do the same work is measured, not assumed: `tableWrites` reads rows written per table, commits and WAL
 * bytes, and the bench prints them per unit for the hub's run and for pgbench's, side by side.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { postgresBinDir } from '../server/postgres-global-setup.ts'
import { LAST_SEEN_SLACK_MS, SESSION_OPTIONS } from '../server/store/postgres.ts'

/** Devices in one lease group (the store's MAX_LEASE_GROUP) and units per device (the bench's volunteers ask for 16). */
const GROUP = 32
const PER_DEVICE = 16
/** Seconds of each pgbench run. */
export const PGBENCH_SECONDS = 10
/** Ingest transactions per round: the hub's ingest stored ~170 results per transaction in the bench. */
const INGESTS = 3

export interface WriteCounts {
  /** Rows inserted, updated and deleted, by table. */
  rows: Map<string, number>
  commits: number
  walBytes: number
}

/** psql's and pgbench's options for reaching the server at `url` as its superuser. */
export function connectionArgs(url: string): string[] {
  const u = new URL(url)
  return ['-h', u.hostname, '-p', u.port, '-U', 'postgres']
}

/** The database `url` names (`postgres` when it names none). */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres'
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${encodeURIComponent(database)}`
  return u.toString()
}

/** Runs SQL with psql on the database at `url`, stopping at the first error; returns its unaligned output. */
export function psqlOf(url: string): (sql: string) => string {
  const bin = postgresBinDir()!
  return (sql: string) =>
    execFileSync(path.join(bin, 'psql'), [...connectionArgs(url), '-d', databaseOf(url), '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
}

/** What the database at `url` has written so far (cumulative statistics; differences count a run). */
export function tableWrites(url: string): WriteCounts {
  const psql = psqlOf(url)
  // The statistics a backend collected reach the shared counters when it goes idle; a moment's wait lets them land.
  execFileSync('sleep', ['1'])
  const rows = new Map<string, number>()
  for (const line of psql(`SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables`).trim().split('\n')) {
    const [name, n] = line.split('|')
    if (name && !name.startsWith('b_')) rows.set(name, Number(n))
  }
  const [commits, walBytes] = psql(`SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), (SELECT wal_bytes FROM pg_stat_wal)`)
    .trim()
    .split('|')
    .map(Number)
  return { rows, commits, walBytes }
}

/** Per unit, what was written between `before` and `after`. */
export function writesPerUnit(before: WriteCounts, after: WriteCounts, units: number): { rows: Record<string, number>; commits: number; walBytes: number } {
  const rows: Record<string, number> = {}
  for (const [name, n] of after.rows) {
    const d = n - (before.rows.get(name) ?? 0)
    if (d > 0) rows[name] = d / units
  }
  return { rows, commits: (after.commits - before.commits) / units, walBytes: (after.walBytes - before.walBytes) / units }
}

/**
 * Units per second pgbench reaches running the hub's transactions (see the file's comment) on the database at `url`
 * after a hub run, the best of three client counts, with the server's CPU per unit (from `serverCpu`) and what it wrote
 * per unit.
 */
export function pgbenchHubTransactions(
  url: string,
  serverCpu: () => number,
): { units: number; cpuMsPerUnit: number; writes: ReturnType<typeof writesPerUnit> } {
  const bin = postgresBinDir()!
  const psql = psqlOf(url)
  // A job of unsent units like the hub's (the same spec and inputs), and pgbench's devices, each client with its own
  // GROUP of them (a hub runs one lease group at a time, so its groups never wait on each other's device rows).
  psql(`INSERT INTO jobs (id, workload, version, label, state, params, created_at, unit_count)
      SELECT 'pgbench', workload, version, 'pgbench', 'open', params, 0, 200000 FROM jobs ORDER BY seq LIMIT 1;
    INSERT INTO units (id, job_id, job_seq, idx, state, cost_flops, spec, inputs, quorum, wanted, max_results, known_answer)
      SELECT 'pgbench-' || g, 'pgbench', (SELECT seq FROM jobs WHERE id = 'pgbench'), g, 'unsent', u.cost_flops, u.spec, u.inputs,
        u.quorum, u.wanted, u.max_results, u.known_answer
      FROM (SELECT * FROM units ORDER BY job_seq, idx LIMIT 1) AS u, generate_series(1, 200000) AS g;
    INSERT INTO devices (id, first_seen, last_seen) SELECT 'pgbench-' || g, 0, 0 FROM generate_series(1, ${GROUP * 40}) AS g;
    ANALYZE;`)
  const dir = mkdtempSync(path.join(tmpdir(), 'meshwork-pgbench-hub-'))
  const now = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`
  const devices = `ARRAY(SELECT 'pgbench-' || (:client_id * ${GROUP} + g) FROM generate_series(1, ${GROUP}) AS g ORDER BY 1)`
  const ids = (v: string) => `:${v}::text[]`
  const parts = Array.from({ length: INGESTS }, (_, i) => `p${i}`)
  const perPart = Math.ceil(GROUP / INGESTS)
  // One round. Unit ids cross statements as array literals (they have no commas, quotes or braces).
  const ingest = (v: string) => `BEGIN;
SELECT id, state FROM units WHERE id = ANY (${ids(v)}) ORDER BY id FOR UPDATE;
SELECT id, unit_id, device_id, state FROM results WHERE id = ANY (ARRAY(SELECT 'r-' || x FROM unnest(${ids(v)}) AS x))
  UNION SELECT r.id, r.unit_id, r.device_id, r.state FROM results r JOIN units p ON r.unit_id = p.id AND r.device_id = p.lease_device
  WHERE p.id = ANY (${ids(v)});
SELECT DISTINCT ON (l.unit_id, l.device_id) l.unit_id, l.device_id, l.partner FROM leases l JOIN units p ON l.unit_id = p.id AND l.device_id = p.lease_device
  WHERE p.id = ANY (${ids(v)}) ORDER BY l.unit_id, l.device_id, l.id DESC;
INSERT INTO results (id, unit_id, device_id, state, output, backend, elapsed_ms, received_at, partner)
  SELECT 'r-' || p.id, p.id, p.lease_device, 'returned', decode(md5(p.id) || repeat('5a', 1008), 'hex'), 'cpu', 5, ${now}, NULL
  FROM units p WHERE p.id = ANY (${ids(v)}) ORDER BY p.id;
UPDATE leases l SET state = 'returned' FROM results r
  WHERE r.unit_id = ANY (${ids(v)}) AND l.unit_id = r.unit_id AND l.device_id = r.device_id AND l.state != 'returned';
SELECT meshwork_settle_units(${ids(v)});
INSERT INTO devices (id, first_seen, last_seen) SELECT * FROM (SELECT device_id, MIN(received_at), MAX(received_at) FROM results
    WHERE unit_id = ANY (${ids(v)}) GROUP BY device_id ORDER BY device_id) AS t (id, first_seen, last_seen)
  WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = t.id AND d.last_seen >= t.last_seen - ${LAST_SEEN_SLACK_MS})
  ON CONFLICT (id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen);
COMMIT;
`
  const round = `SELECT ${parts
    .map((p, i) => `'{' || string_agg(id, ',') FILTER (WHERE request > ${i * perPart} AND request <= ${(i + 1) * perPart}) || '}' AS ${p}`)
    .join(', ')}, '{' || string_agg(id, ',') || '}' AS ids
  FROM meshwork_lease_many(${devices}, array_fill(${PER_DEVICE}, ARRAY[${GROUP}]), array_fill(${now}, ARRAY[${GROUP}]),
    array_fill(${now} + 600000, ARRAY[${GROUP}]), array_fill(NULL::text, ARRAY[${GROUP}]), array_fill(0, ARRAY[${GROUP}]), '{}'::float8[],
    60000, false, 10000, 10) \\gset
${parts.map(ingest).join('')}BEGIN;
SET LOCAL synchronous_commit = off;
SELECT r.id, r.unit_id, r.device_id, r.output, r.received_at, j.workload, u.spec, u.inputs, u.cost_flops, u.quorum,
    u.wanted, u.max_results, u.known_answer, c.output AS canonical,
    (SELECT MAX(l.leased_at) FROM leases l WHERE l.unit_id = r.unit_id AND l.device_id = r.device_id) AS leased_at
  FROM results r JOIN units u ON u.id = r.unit_id JOIN jobs j ON j.id = u.job_id LEFT JOIN results c ON c.id = u.canonical_result
  WHERE r.state = 'returned' AND NOT r.checked AND r.unit_id = ANY (${ids('ids')}) ORDER BY r.received_at, r.seq LIMIT 512
  FOR UPDATE OF r SKIP LOCKED;
SELECT id, unit_id, device_id, state, checked, reason, validated_at FROM results WHERE unit_id = ANY (${ids('ids')}) ORDER BY id FOR UPDATE;
SELECT u.id, u.state, u.wanted, u.canonical_result, u.error, j.workload, j.version FROM units u JOIN jobs j ON j.id = u.job_id
  WHERE u.id = ANY (${ids('ids')}) ORDER BY u.id FOR UPDATE OF u;
SELECT id, quota_shift, flops_per_ms FROM devices WHERE id = ANY (${devices}) ORDER BY id FOR UPDATE;
SELECT p.device_id, p.workload, p.version, p.streak FROM reputation p JOIN unnest(${devices}) AS k (device_id)
  ON p.device_id = k.device_id AND p.workload = 'matmul' AND p.version = 1;
UPDATE results r SET state = 'valid', reason = 'Freivalds: 2 random probes agree', validated_at = ${now}, checked = false
  WHERE r.unit_id = ANY (${ids('ids')});
INSERT INTO reputation (device_id, workload, version, streak) SELECT k, 'matmul', 1, ${PER_DEVICE} FROM unnest(${devices}) AS k
  ON CONFLICT (device_id, workload, version) DO UPDATE SET streak = reputation.streak + excluded.streak;
UPDATE devices d SET quota_shift = 0, flops_per_ms = COALESCE(0.7 * d.flops_per_ms, 0) + 0.3 * 5000 WHERE d.id = ANY (${devices});
UPDATE units u SET state = 'done', canonical_result = 'r-' || u.id, error = NULL, wanted = u.wanted WHERE u.id = ANY (${ids('ids')});
INSERT INTO decisions (at, device_id, unit_id, result_id, kind, message)
  SELECT ${now}, r.device_id, r.unit_id, r.id, 'verdict', 'Valid: Freivalds: 2 random probes agree.' FROM results r WHERE r.unit_id = ANY (${ids('ids')}) ORDER BY r.seq;
COMMIT;
SELECT r.id, r.device_id, r.unit_id, u.cost_flops FROM results r JOIN units u ON u.id = r.unit_id
  WHERE r.state = 'valid' AND r.credited_at IS NULL AND r.unit_id = ANY (${ids('ids')}) ORDER BY r.validated_at, r.seq LIMIT 1024;
SELECT t.id, (SELECT COALESCE(SUM(amount_flops), 0) FROM ledger WHERE device_id = t.id AND kind = 'compute' AND created_at >= ${now} - 3600000) AS credit,
    (SELECT flops_per_ms FROM devices WHERE id = t.id) AS flops_per_ms
  FROM unnest(${devices}) AS t (id);
BEGIN;
SET LOCAL synchronous_commit = off;
SELECT 1 FROM results WHERE unit_id = ANY (${ids('ids')}) ORDER BY id FOR UPDATE;
INSERT INTO ledger (device_id, kind, result_id, amount_flops, created_at)
  SELECT r.device_id, 'compute', r.id, u.cost_flops, ${now} FROM results r JOIN units u ON u.id = r.unit_id
  WHERE r.unit_id = ANY (${ids('ids')}) ORDER BY r.seq ON CONFLICT (result_id) DO NOTHING;
UPDATE results SET credited_at = ${now} WHERE unit_id = ANY (${ids('ids')});
COMMIT;
INSERT INTO decisions (at, device_id, unit_id, result_id, kind, message)
  SELECT ${now}, r.device_id, r.unit_id, r.id, 'credit', 'Credited 8192 flops, the unit''s cost.' FROM results r WHERE r.unit_id = ANY (${ids('ids')}) ORDER BY r.seq;
WITH done AS (
    UPDATE jobs j SET state = CASE WHEN EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.error IS NOT NULL) THEN 'error' ELSE 'done' END,
      completed_at = ${now}
    WHERE state = 'open' AND NOT EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.state != 'done')
    RETURNING id, seq)
  SELECT id FROM done ORDER BY seq;
`
  const script = path.join(dir, 'round.sql')
  writeFileSync(script, round)
  const run = (clients: number) => {
    const before = tableWrites(url)
    const cpuBefore = serverCpu()
    const out = execFileSync(
      path.join(bin, 'pgbench'),
      [...connectionArgs(url), '-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(PGBENCH_SECONDS), '-f', script, databaseOf(url)],
      // The hub's session settings (JIT off: the lease pick's estimated cost would have every pick compiled).
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGOPTIONS: SESSION_OPTIONS } },
    )
    const cpu = serverCpu() - cpuBefore
    const rounds = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1])
    const units = Number(/tps = ([\d.]+)/.exec(out)?.[1]) * GROUP * PER_DEVICE
    const done = rounds * GROUP * PER_DEVICE
    const writes = writesPerUnit(before, tableWrites(url), done)
    console.log(`pgbench, the hub's transactions: ${units.toFixed(0)} units/s (${clients} clients, rounds of ${GROUP * PER_DEVICE} units)`)
    return { units, cpuMsPerUnit: (cpu * 1000) / done, writes }
  }
  // Each client runs its rounds one after the other, as the hub runs one lease group, one validator pass and one credit
  // pass at a time (its ingest runs several); the best of three client counts counts (one is best when the server has
  // a single core, BENCH_HUB_PIN).
  try {
    return [run(1), run(2), run(4)].reduce((a, b) => (a.units >= b.units ? a : b))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
