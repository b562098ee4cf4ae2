/**
 * The store on Postgres (node-postgres), for several hub processes sharing one database. Same interface and semantics as
 * `sqlite.ts` (the reference: its comments explain the rules), method by method, with every SQL text of this engine in
 * this file. What differs, and why:
 * - Every multi-statement operation runs in ONE transaction on a pooled client (`#transaction`), retried a few times
 *   on a serialization failure or deadlock (SQLSTATE 40001, 40P01). Commits use the server's default
 *   `synchronous_commit = on`: nothing is acknowledged before it is durable.
 * - Several hubs run the same operations at once, so each operation locks the rows it decides on (always in id order,
 *   so two hubs never wait on each other in a cycle) or leans on a unique constraint: leasing picks units with
 *   `FOR UPDATE OF u SKIP LOCKED`, so two hubs never lease one unit; results lock their units; verdicts and ledger rows
 *   lock their results; receipts lock their servers' device rows (the daily cap is per server).
 * - Batches are few round trips: arrays go in as one parameter each and come out of `unnest`, and result outputs go
 *   as binary parameters of one multi-row INSERT.
 */
import pg from 'pg'
import type {
  CreditCandidate,
  CurrentJob,
  DeviceResultRecord,
  DeviceSummary,
  JobRecord,
  LeaseUnitsParameters,
  LedgerAppend,
  LedgerEntry,
  LedgerKind,
  NewJob,
  NewUnit,
  PartnerTotals,
  PendingResult,
  ReceiptOutcome,
  RecordReceiptsParameters,
  ResultInsert,
  ResultInsertOutcome,
  ResultVerdict,
  Store,
  StoreCounts,
  UnitCounts,
  UnitRecord,
  UnitState,
} from './types.ts'
import type { Backend, ResultState } from '../../protocol/schemas.ts'

/**
 * Schema versions, applied in order; `schema_migrations` records each one that ran. Never edit a shipped entry.
 * Version 1 is the whole schema of SQLite's four versions at once (there was no Postgres database before it).
 * Exported for the tests only.
 */
export const MIGRATIONS: readonly string[] = [
  /* sql */ `
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

  CREATE TABLE jobs (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    workload text NOT NULL,
    version integer NOT NULL,
    label text,
    state text NOT NULL CHECK (state IN ('open', 'done', 'error')),
    -- json, not jsonb: the text comes back exactly as stored (key order included).
    params json NOT NULL,
    demo boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL,
    completed_at bigint
  );
  CREATE INDEX jobs_open ON jobs (seq) WHERE state = 'open';

  CREATE TABLE units (
    id text PRIMARY KEY,
    job_id text NOT NULL REFERENCES jobs (id),
    -- The job's seq, copied so that leasing walks one index in (job, index) order instead of sorting every leasable
    -- unit of every open job on each lease.
    job_seq bigint NOT NULL,
    idx integer NOT NULL,
    state text NOT NULL CHECK (state IN ('unsent', 'leased', 'returned', 'done')),
    lease_device text,
    deadline bigint,
    attempts integer NOT NULL DEFAULT 0,
    cost_flops double precision NOT NULL,
    spec json NOT NULL,
    inputs json NOT NULL,
    canonical_result text,
    UNIQUE (job_id, idx)
  );
  -- Leasing walks the unsent units in job order (however many are done or leased), and finds expired leases by
  -- deadline (however many leases are running).
  CREATE INDEX units_unsent ON units (job_seq, idx) WHERE state = 'unsent';
  CREATE INDEX units_leased ON units (deadline) WHERE state = 'leased';

  -- Every lease ever given: a result is accepted only from a device that leased its unit.
  CREATE TABLE leases (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id text NOT NULL,
    device_id text NOT NULL,
    leased_at bigint NOT NULL,
    deadline bigint NOT NULL,
    -- The partner site whose widget leased the unit (issue 5).
    partner text
  );
  CREATE INDEX leases_unit_device ON leases (unit_id, device_id);

  CREATE TABLE results (
    -- Arrival order, for a device's newest results (SQLite's rowid).
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id text PRIMARY KEY,
    unit_id text NOT NULL,
    device_id text NOT NULL,
    state text NOT NULL CHECK (state IN ('returned', 'valid', 'invalid')),
    reason text,
    output bytea NOT NULL,
    backend text NOT NULL,
    elapsed_ms bigint NOT NULL,
    received_at bigint NOT NULL,
    validated_at bigint,
    credited_at bigint,
    partner text,
    -- One result per unit and device (insertResults refuses a second one; this backs it up across hubs).
    UNIQUE (unit_id, device_id)
  );
  CREATE INDEX results_device ON results (device_id, received_at);
  CREATE INDEX results_returned ON results (received_at) WHERE state = 'returned';
  CREATE INDEX results_uncredited ON results (validated_at) WHERE state = 'valid' AND credited_at IS NULL;
  CREATE INDEX results_partner ON results (partner) WHERE partner IS NOT NULL;

  CREATE TABLE devices (
    id text PRIMARY KEY,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    -- The network a device last made a request from (see server/receipts/network.ts).
    network text
  );

  CREATE TABLE blobs (hash text PRIMARY KEY, bytes bytea NOT NULL, size integer NOT NULL);

  -- Bandwidth receipts that earned credit: one per (receiver, blob), kept with the receiver's signature as evidence.
  CREATE TABLE receipts (
    id text PRIMARY KEY,
    receiver text NOT NULL,
    server text NOT NULL,
    blob text NOT NULL,
    unit_id text NOT NULL,
    bytes bigint NOT NULL,
    signed_at bigint NOT NULL,
    signature text NOT NULL,
    submitted_by text NOT NULL,
    received_at bigint NOT NULL,
    -- UTC day number (ms since the epoch / 86400000), for the per-server daily cap.
    day integer NOT NULL,
    UNIQUE (receiver, blob)
  );
  CREATE INDEX receipts_server_day ON receipts (server, day);

  -- Append-only: the triggers refuse edits, so credit can only ever be added by a new row. 'compute' rows point at a
  -- result, 'bandwidth' rows at a receipt.
  CREATE TABLE ledger (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('compute', 'bandwidth')),
    result_id text UNIQUE,
    receipt_id text UNIQUE REFERENCES receipts (id),
    amount_flops double precision NOT NULL,
    created_at bigint NOT NULL,
    CHECK ((kind = 'compute') = (result_id IS NOT NULL) AND (kind = 'bandwidth') = (receipt_id IS NOT NULL))
  );
  CREATE INDEX ledger_device ON ledger (device_id, seq);
  CREATE INDEX ledger_device_kind ON ledger (device_id, kind);
  CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the ledger is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
  END
  $$;
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
  CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
  CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

  -- Sign-In with Ethereum: single-use nonces, wallet sessions, devices linked to wallets.
  CREATE TABLE siwe_nonces (nonce text PRIMARY KEY, issued_at bigint NOT NULL, used_at bigint);
  CREATE TABLE wallet_sessions (
    token_hash text PRIMARY KEY,
    address text NOT NULL,
    device_id text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE TABLE device_wallets (device_id text PRIMARY KEY, address text NOT NULL, linked_at bigint NOT NULL);
  CREATE INDEX device_wallets_address ON device_wallets (address);
  `,
]

/** Key of the advisory lock taken while migrating, so two hubs starting at once do not both migrate. */
const MIGRATION_LOCK = 0x6d657368 // "mesh"

/** A job with at least this many units refreshes the planner's statistics of the units table. */
const ANALYZE_AFTER_UNITS = 1000

/** Attempts of one transaction when Postgres reports a serialization failure or a deadlock. */
const MAX_ATTEMPTS = 5

/** SQLSTATEs after which the whole transaction is run again: serialization_failure, deadlock_detected. */
const RETRY_CODES: ReadonlySet<string> = new Set(['40001', '40P01'])

/** unique_violation: another hub inserted the same key in the same instant; the retry sees its row. */
const UNIQUE_VIOLATION = '23505'

/**
 * Counts (bigint) and timestamps (bigint ms) come back as numbers: every value here is far below 2^53. SUMs of
 * bigints are numeric; they are cast in SQL where they occur.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

interface JobRow {
  id: string
  workload: string
  version: number
  label: string | null
  state: JobRecord['state']
  params: Record<string, unknown>
  demo: boolean
  created_at: number
  completed_at: number | null
}

interface UnitRow {
  id: string
  job_id: string
  idx: number
  workload: string
  version: number
  state: UnitState
  spec: Record<string, unknown>
  inputs: string[]
  cost_flops: number
  lease_device: string | null
  deadline: number | null
  attempts: number
  canonical_result: string | null
}

const UNIT_COLUMNS = /* sql */ `u.id, u.job_id, u.idx, j.workload, j.version, u.state, u.spec, u.inputs, u.cost_flops,
  u.lease_device, u.deadline, u.attempts, u.canonical_result`

/** node-postgres sends Buffers as binary parameters; this views a Uint8Array as one without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function toUnit(row: UnitRow): UnitRecord {
  return {
    id: row.id,
    jobId: row.job_id,
    index: row.idx,
    workload: row.workload,
    version: row.version,
    state: row.state,
    spec: row.spec,
    inputs: row.inputs,
    costFlops: row.cost_flops,
    leaseDevice: row.lease_device,
    deadline: row.deadline,
    attempts: row.attempts,
    canonicalResultId: row.canonical_result,
  }
}

function emptyCounts(): UnitCounts {
  return { total: 0, unsent: 0, leased: 0, returned: 0, done: 0 }
}

/**
 * The rows of a multi-row VALUES: `row` writes one row from its parameter placeholders, e.g. for 2 rows of 2 columns
 * `($1, $2), ($3, $4)`.
 */
function valuesRows(rows: number, columns: number, row: (p: string[]) => string): string {
  const out: string[] = []
  for (let r = 0; r < rows; r++) out.push(row(Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`)))
  return out.join(', ')
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

/** A client of the pool, or the pool itself, to run one query on. */
type Queryable = pg.Pool | pg.PoolClient

export interface PostgresStoreOptions {
  /** Most connections this hub holds open. @default 10 */
  maxConnections?: number
}

/**
 * Opens the store on the Postgres database at `url` (`postgres://user:password@host:5432/database`) and runs pending
 * migrations under an advisory lock.
 */
export async function openPostgresStore(url: string, { maxConnections = 10 }: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, types: TYPES, application_name: 'meshwork-hub' })
  // A connection that dies while idle is dropped from the pool; the next query opens a new one. Without a listener
  // the pool's 'error' event would crash the hub.
  pool.on('error', () => {})
  const store = new PostgresStore(pool)
  try {
    await store.migrate()
  } catch (error) {
    await pool.end()
    throw error
  }
  return store
}

/** The `Store` over a node-postgres pool; use `openPostgresStore` to create one. */
export class PostgresStore implements Store {
  readonly kind = 'postgres'
  readonly #pool: pg.Pool
  /** Statement names by SQL text: each fixed text is parsed and planned once per connection. */
  readonly #names = new Map<string, string>()
  #closed = false

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  /** Runs pending migrations, each in its own transaction, holding an advisory lock so one hub migrates at a time. */
  async migrate(): Promise<void> {
    const client = await this.#pool.connect()
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
      try {
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
        )
        const { rows } = await client.query<{ current: number }>('SELECT COALESCE(MAX(version), 0)::int AS current FROM schema_migrations')
        const current = rows[0].current
        if (current > MIGRATIONS.length) {
          throw new Error(
            `The database schema is version ${current}, newer than this hub knows (${MIGRATIONS.length}); run a newer hub.`,
          )
        }
        for (let v = current; v < MIGRATIONS.length; v++) {
          await client.query('BEGIN')
          try {
            await client.query(MIGRATIONS[v])
            await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1])
            await client.query('COMMIT')
          } catch (error) {
            await client.query('ROLLBACK')
            throw error
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
      }
    } finally {
      client.release()
    }
  }

  /** Runs one statement; a fixed SQL text becomes a named prepared statement. */
  async #query<R extends pg.QueryResultRow>(on: Queryable, text: string, values: unknown[] = [], prepare = true): Promise<pg.QueryResult<R>> {
    if (!prepare) return on.query<R>(text, values)
    let name = this.#names.get(text)
    if (!name) {
      name = `meshwork_${this.#names.size + 1}`
      this.#names.set(text, name)
    }
    return on.query<R>({ name, text, values })
  }

  async #rows<R extends pg.QueryResultRow>(on: Queryable, text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.#query<R>(on, text, values)).rows
  }

  /**
   * Runs `work` in ONE transaction on one pooled client: BEGIN, COMMIT, ROLLBACK on any error. A serialization failure
   * or deadlock (and, where `retryUnique` is set, a unique violation from a concurrent insert) runs it again from the
   * start, up to MAX_ATTEMPTS times, after a short random pause.
   */
  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>, { retryUnique = false } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect()
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        const out = await work(client)
        await client.query('COMMIT')
        return out
      } catch (error) {
        try {
          await client.query('ROLLBACK')
        } catch (rollbackError) {
          // The connection is unusable: the pool must not hand it out again.
          broken = rollbackError as Error
        }
        const code = sqlState(error)
        const retry = code !== undefined && (RETRY_CODES.has(code) || (retryUnique && code === UNIQUE_VIOLATION))
        if (!retry || attempt >= MAX_ATTEMPTS || broken) throw error
      } finally {
        client.release(broken)
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt))
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#pool.end()
  }

  async getMeta(key: string): Promise<string | undefined> {
    const [row] = await this.#rows<{ value: string }>(this.#pool, 'SELECT value FROM meta WHERE key = $1', [key])
    return row?.value
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#query(this.#pool, 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
      key,
      value,
    ])
  }

  async touchDevice(deviceId: string, now: number, network?: string): Promise<void> {
    await this.#query(
      this.#pool,
      `INSERT INTO devices (id, first_seen, last_seen, network) VALUES ($1, $2, $2, $3)
       ON CONFLICT (id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen),
         network = COALESCE(excluded.network, devices.network)`,
      [deviceId, now, network ?? null],
    )
  }

  async issueNonce(nonce: string, now: number): Promise<void> {
    await this.#query(this.#pool, 'INSERT INTO siwe_nonces (nonce, issued_at) VALUES ($1, $2)', [nonce, now])
  }

  async consumeNonce(nonce: string, now: number, maxAgeMs: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      this.#pool,
      'UPDATE siwe_nonces SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL AND issued_at >= $3',
      [now, nonce, now - maxAgeMs],
    )
    return rowCount === 1
  }

  async openSession(session: { tokenHash: string; address: string; deviceId: string; expiresAt: number }, now: number): Promise<'opened' | 'other_wallet'> {
    return this.#transaction(async (c) => {
      // Link first, then read the link: a concurrent sign-in of the same device to another wallet either linked first
      // (and this one reads its address) or waits for this one to commit.
      await this.#query(c, 'INSERT INTO device_wallets (device_id, address, linked_at) VALUES ($1, $2, $3) ON CONFLICT (device_id) DO NOTHING', [
        session.deviceId,
        session.address,
        now,
      ])
      const [linked] = await this.#rows<{ address: string }>(c, 'SELECT address FROM device_wallets WHERE device_id = $1', [session.deviceId])
      if (linked && linked.address !== session.address) return 'other_wallet'
      await this.#query(c, 'INSERT INTO wallet_sessions (token_hash, address, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        session.tokenHash,
        session.address,
        session.deviceId,
        now,
        session.expiresAt,
      ])
      return 'opened'
    })
  }

  async sessionAddress(tokenHash: string, now: number): Promise<string | undefined> {
    const [row] = await this.#rows<{ address: string }>(this.#pool, 'SELECT address FROM wallet_sessions WHERE token_hash = $1 AND expires_at > $2', [
      tokenHash,
      now,
    ])
    return row?.address
  }

  async walletDevices(address: string): Promise<string[]> {
    const rows = await this.#rows<{ device_id: string }>(this.#pool, 'SELECT device_id FROM device_wallets WHERE address = $1 ORDER BY linked_at', [address])
    return rows.map((r) => r.device_id)
  }

  async putBlob(hash: string, bytes: Uint8Array): Promise<void> {
    await this.#query(this.#pool, 'INSERT INTO blobs (hash, bytes, size) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING', [
      hash,
      asBuffer(bytes),
      bytes.byteLength,
    ])
  }

  async getBlob(hash: string): Promise<Uint8Array | undefined> {
    const [row] = await this.#rows<{ bytes: Buffer }>(this.#pool, 'SELECT bytes FROM blobs WHERE hash = $1', [hash])
    return row?.bytes
  }

  async insertJob(job: NewJob, units: NewUnit[], blobs: ReadonlyMap<string, Uint8Array>): Promise<void> {
    await this.#transaction(async (c) => {
      const [{ seq }] = await this.#rows<{ seq: number }>(
        c,
        `INSERT INTO jobs (id, workload, version, label, state, params, demo, created_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) RETURNING seq`,
        [job.id, job.workload, job.version, job.label, JSON.stringify(job.params), job.demo, job.createdAt],
      )
      // All units in one statement (a job may have 16,384).
      await this.#query(
        c,
        `INSERT INTO units (id, job_id, job_seq, idx, state, cost_flops, spec, inputs)
         SELECT u.id, $1, $2, u.idx, 'unsent', u.cost_flops, u.spec::json, u.inputs::json
         FROM unnest($3::text[], $4::int[], $5::float8[], $6::text[], $7::text[]) AS u (id, idx, cost_flops, spec, inputs)`,
        [
          job.id,
          seq,
          units.map((u) => u.id),
          units.map((u) => u.index),
          units.map((u) => u.costFlops),
          units.map((u) => JSON.stringify(u.spec)),
          units.map((u) => JSON.stringify(u.inputs)),
        ],
      )
      // One statement per blob: each goes as a binary parameter (an array would be hex text, twice the size).
      for (const [hash, bytes] of blobs) {
        await this.#query(c, 'INSERT INTO blobs (hash, bytes, size) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING', [
          hash,
          asBuffer(bytes),
          bytes.byteLength,
        ])
      }
    })
    // Fresh statistics for a large job: without them the planner takes the new units table for a tiny one and sorts
    // every unsent unit on each lease instead of walking units_unsent (autovacuum would only catch up within a minute).
    if (units.length >= ANALYZE_AFTER_UNITS) {
      await this.#pool.query('ANALYZE units').catch(() => {}) // needs the table's owner; a hub that is not can do without
    }
  }

  async #jobs(where: string, params: unknown[], tail = ''): Promise<JobRecord[]> {
    const rows = await this.#rows<JobRow>(
      this.#pool,
      `SELECT id, workload, version, label, state, params, demo, created_at, completed_at FROM jobs ${where} ${tail}`,
      params,
    )
    if (rows.length === 0) return []
    const counts = new Map<string, UnitCounts>(rows.map((r) => [r.id, emptyCounts()]))
    const countRows = await this.#rows<{ job_id: string; state: UnitState; n: number }>(
      this.#pool,
      'SELECT job_id, state, COUNT(*) AS n FROM units WHERE job_id = ANY($1::text[]) GROUP BY job_id, state',
      [rows.map((r) => r.id)],
    )
    for (const c of countRows) {
      const counts1 = counts.get(c.job_id)!
      counts1[c.state] += c.n
      counts1.total += c.n
    }
    return rows.map((r) => ({
      id: r.id,
      workload: r.workload,
      version: r.version,
      label: r.label,
      state: r.state,
      params: r.params,
      demo: r.demo,
      createdAt: r.created_at,
      completedAt: r.completed_at,
      units: counts.get(r.id)!,
    }))
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    return (await this.#jobs('WHERE id = $1', [id]))[0]
  }

  async listJobs(limit: number): Promise<JobRecord[]> {
    return this.#jobs('', [Math.max(0, Math.floor(limit))], 'ORDER BY seq DESC LIMIT $1')
  }

  async countOpenDemoJobs(): Promise<number> {
    const [row] = await this.#rows<{ n: number }>(this.#pool, `SELECT COUNT(*) AS n FROM jobs WHERE state = 'open' AND demo`)
    return row.n
  }

  async currentJob(): Promise<CurrentJob | undefined> {
    // The job leaseUnits takes units from first (jobs_open serves this).
    const [row] = await this.#rows<{ id: string; workload: string; label: string | null }>(
      this.#pool,
      `SELECT id, workload, label FROM jobs WHERE state = 'open' ORDER BY seq LIMIT 1`,
    )
    return row && { id: row.id, workload: row.workload, label: row.label }
  }

  async getUnit(id: string): Promise<UnitRecord | undefined> {
    const [row] = await this.#rows<UnitRow>(this.#pool, `SELECT ${UNIT_COLUMNS} FROM units u JOIN jobs j ON j.id = u.job_id WHERE u.id = $1`, [id])
    return row && toUnit(row)
  }

  async jobOutputs(jobId: string): Promise<(Uint8Array | undefined)[]> {
    const rows = await this.#rows<{ idx: number; output: Buffer | null }>(
      this.#pool,
      `SELECT u.idx, r.output FROM units u LEFT JOIN results r ON r.id = u.canonical_result
       WHERE u.job_id = $1 ORDER BY u.idx`,
      [jobId],
    )
    const out: (Uint8Array | undefined)[] = []
    for (const row of rows) out[row.idx] = row.output ?? undefined
    return out
  }

  async leaseUnits({ deviceId, max, now, deadline, partner }: LeaseUnitsParameters): Promise<UnitRecord[]> {
    // One statement, so one transaction and one round trip: pick, mark and remember. The candidates are the unsent
    // units and those whose lease expired, each set walked by its own index and locked with SKIP LOCKED, so a unit
    // another hub is leasing right now is passed over; a unit another hub leased and committed since this statement's
    // snapshot is re-checked against its WHERE clause once locked (READ COMMITTED), so it is not leased twice. Up to
    // `max` of each set is locked for the statement's few milliseconds; the first `max` in (job, index) order are taken.
    const candidates = (where: string) => /* sql */ `
         SELECT u.id, u.job_seq, u.idx FROM units u
         WHERE ${where}
           -- A scalar subquery, not a join: the plan stays one ordered walk of units' index, stopped by the LIMIT.
           AND (SELECT j.state FROM jobs j WHERE j.id = u.job_id) = 'open'
           AND NOT EXISTS (SELECT 1 FROM results r WHERE r.unit_id = u.id AND r.device_id = $1)
         ORDER BY u.job_seq, u.idx
         LIMIT $3
         FOR UPDATE OF u SKIP LOCKED`
    const rows = await this.#rows<UnitRow>(
      this.#pool,
      `WITH unsent AS (${candidates(`u.state = 'unsent'`)}
       ), expired AS (${candidates(`u.state = 'leased' AND u.deadline < $2`)}
       ), picked AS (
         SELECT id FROM (SELECT * FROM unsent UNION ALL SELECT * FROM expired) AS c ORDER BY job_seq, idx LIMIT $3
       ), marked AS (
         UPDATE units u SET state = 'leased', lease_device = $1, deadline = $4, attempts = u.attempts + 1
         FROM picked WHERE u.id = picked.id
         RETURNING u.*
       ), remembered AS (
         INSERT INTO leases (unit_id, device_id, leased_at, deadline, partner) SELECT id, $1, $2, $4, $5 FROM marked
       )
       SELECT ${UNIT_COLUMNS} FROM marked u JOIN jobs j ON j.id = u.job_id ORDER BY u.job_seq, u.idx`,
      [deviceId, now, Math.max(0, Math.floor(max)), deadline, partner ?? null],
    )
    return rows.map(toUnit)
  }

  async expireLeases(now: number): Promise<number> {
    const { rowCount } = await this.#query(
      this.#pool,
      `UPDATE units SET state = 'unsent', lease_device = NULL, deadline = NULL WHERE state = 'leased' AND deadline < $1`,
      [now],
    )
    return rowCount ?? 0
  }

  async insertResults(items: ResultInsert[]): Promise<ResultInsertOutcome[]> {
    if (items.length === 0) return []
    // A concurrent hub storing the same result id for another unit shows up as a unique violation: the retry sees it.
    return this.#transaction(
      async (c) => {
        // Lock the units first (in id order): every check below then sees what other hubs committed for them, and no
        // other hub stores a result for them until this transaction ends.
        const unitIds = [...new Set(items.map((i) => i.unitId))].sort()
        const units = new Map(
          (await this.#rows<{ id: string; state: UnitState }>(c, 'SELECT id, state FROM units WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [unitIds])).map(
            (r) => [r.id, r.state],
          ),
        )
        const pairUnits = items.map((i) => i.unitId)
        const pairDevices = items.map((i) => i.deviceId)
        // Results by id and by (unit, device), and each (unit, device)'s latest lease with its partner.
        const existing = await this.#rows<{ id: string; unit_id: string; device_id: string; state: ResultState }>(
          c,
          `SELECT id, unit_id, device_id, state FROM results WHERE id = ANY($1::text[])
           UNION
           SELECT r.id, r.unit_id, r.device_id, r.state FROM results r
           JOIN unnest($2::text[], $3::text[]) AS p (unit_id, device_id) ON r.unit_id = p.unit_id AND r.device_id = p.device_id`,
          [items.map((i) => i.resultId), pairUnits, pairDevices],
        )
        const leases = await this.#rows<{ unit_id: string; device_id: string; partner: string | null }>(
          c,
          `SELECT DISTINCT ON (l.unit_id, l.device_id) l.unit_id, l.device_id, l.partner
           FROM leases l JOIN unnest($1::text[], $2::text[]) AS p (unit_id, device_id) ON l.unit_id = p.unit_id AND l.device_id = p.device_id
           ORDER BY l.unit_id, l.device_id, l.id DESC`,
          [pairUnits, pairDevices],
        )
        const pair = (unitId: string, deviceId: string) => `${unitId}\n${deviceId}`
        const byId = new Map(existing.map((r) => [r.id, r]))
        const byPair = new Map(existing.map((r) => [pair(r.unit_id, r.device_id), r]))
        const latestLease = new Map(leases.map((l) => [pair(l.unit_id, l.device_id), l]))

        // Decide in order, as SQLite does one item after the other: a result accepted earlier in the batch counts.
        const accepted: ResultInsert[] = []
        const outcomes = items.map((item): ResultInsertOutcome => {
          const seen = byId.get(item.resultId)
          if (seen) {
            if (seen.unit_id === item.unitId && seen.device_id === item.deviceId) return { kind: 'duplicate', state: seen.state }
            return {
              kind: 'rejected',
              code: 'conflict',
              message: `Result id ${item.resultId} was already used for another unit or device; choose a new id for a new result.`,
            }
          }
          if (!units.has(item.unitId)) return { kind: 'rejected', code: 'not_found', message: `Unit ${item.unitId} does not exist.` }
          const lease = latestLease.get(pair(item.unitId, item.deviceId))
          if (!lease) return { kind: 'rejected', code: 'forbidden', message: `Unit ${item.unitId} was not leased to this device.` }
          const prior = byPair.get(pair(item.unitId, item.deviceId))
          if (prior) {
            return {
              kind: 'rejected',
              code: 'conflict',
              message: `This device already returned result ${prior.id} (${prior.state}) for unit ${item.unitId}; one result per unit and device.`,
            }
          }
          // Without a partner in the submission, the result keeps the partner its unit was leased through by this device.
          const row = { id: item.resultId, unit_id: item.unitId, device_id: item.deviceId, state: 'returned' as const }
          byId.set(row.id, row)
          byPair.set(pair(row.unit_id, row.device_id), row)
          accepted.push({ ...item, partner: item.partner ?? lease.partner ?? undefined })
          return { kind: 'accepted', state: 'returned' }
        })
        if (accepted.length === 0) return outcomes

        // Outputs travel as binary parameters of one multi-row INSERT (8 per row: at most 8,191 rows a statement,
        // far above the ingest's batches of 256).
        await this.#query(
          c,
          `INSERT INTO results (id, unit_id, device_id, state, output, backend, elapsed_ms, received_at, partner) VALUES
           ${valuesRows(accepted.length, 8, (p) => `(${p[0]}, ${p[1]}, ${p[2]}, 'returned', ${p.slice(3).join(', ')})`)}`,
          accepted.flatMap((a) => [a.resultId, a.unitId, a.deviceId, asBuffer(a.output), a.backend, a.elapsedMs, a.receivedAt, a.partner ?? null]),
          false,
        )
        await this.#query(
          c,
          `UPDATE units SET state = 'returned', lease_device = NULL, deadline = NULL WHERE id = ANY($1::text[]) AND state != 'done'`,
          [[...new Set(accepted.map((a) => a.unitId))]],
        )
        // One row per device (an upsert may touch a row once per statement), in id order against deadlocks.
        const devices = new Map<string, { first: number; last: number }>()
        for (const a of accepted) {
          const d = devices.get(a.deviceId)
          if (d) d.last = Math.max(d.last, a.receivedAt)
          else devices.set(a.deviceId, { first: a.receivedAt, last: a.receivedAt })
        }
        const ids = [...devices.keys()].sort()
        await this.#query(
          c,
          `INSERT INTO devices (id, first_seen, last_seen) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
           ON CONFLICT (id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen)`,
          [ids, ids.map((id) => devices.get(id)!.first), ids.map((id) => devices.get(id)!.last)],
        )
        return outcomes
      },
      { retryUnique: true },
    )
  }

  async pendingResults(limit: number): Promise<PendingResult[]> {
    const rows = await this.#rows<{ id: string; unit_id: string; device_id: string; output: Buffer; workload: string; spec: Record<string, unknown>; inputs: string[] }>(
      this.#pool,
      `SELECT r.id, r.unit_id, r.device_id, r.output, j.workload, u.spec, u.inputs
       FROM results r JOIN units u ON u.id = r.unit_id JOIN jobs j ON j.id = u.job_id
       WHERE r.state = 'returned' ORDER BY r.received_at, r.seq LIMIT $1`,
      [Math.max(0, Math.floor(limit))],
    )
    return rows.map((r) => ({
      resultId: r.id,
      unitId: r.unit_id,
      deviceId: r.device_id,
      workload: r.workload,
      spec: r.spec,
      inputs: r.inputs,
      output: r.output,
    }))
  }

  async recordVerdicts(verdicts: ResultVerdict[], now: number): Promise<void> {
    // The first verdict on a result counts (as in SQLite, where a second one finds it no longer 'returned').
    const first = new Map<string, ResultVerdict>()
    for (const v of verdicts) if (!first.has(v.resultId)) first.set(v.resultId, v)
    if (first.size === 0) return
    const list = [...first.values()]
    await this.#transaction(async (c) => {
      // Lock the results in id order: another hub's validator recording the same verdicts waits here, then finds them
      // no longer 'returned' and changes nothing.
      await this.#query(c, 'SELECT 1 FROM results WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [list.map((v) => v.resultId)])
      const marked = await this.#rows<{ id: string; unit_id: string; state: ResultState; ord: number }>(
        c,
        `UPDATE results r SET state = v.state, reason = v.reason, validated_at = $4
         FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS v (id, state, reason, ord)
         WHERE r.id = v.id AND r.state = 'returned'
         RETURNING r.id, r.unit_id, r.state, v.ord`,
        [list.map((v) => v.resultId), list.map((v) => (v.valid ? 'valid' : 'invalid')), list.map((v) => v.reason), now],
      )
      marked.sort((a, b) => a.ord - b.ord)
      // A valid result finishes its unit; the first valid one in verdict order becomes the canonical result.
      const canonical = new Map<string, string>()
      for (const m of marked) if (m.state === 'valid' && !canonical.has(m.unit_id)) canonical.set(m.unit_id, m.id)
      if (canonical.size > 0) {
        await this.#query(
          c,
          `UPDATE units u SET state = 'done', canonical_result = d.result_id, lease_device = NULL, deadline = NULL
           FROM unnest($1::text[], $2::text[]) AS d (unit_id, result_id) WHERE u.id = d.unit_id AND u.state != 'done'`,
          [[...canonical.keys()], [...canonical.values()]],
        )
      }
      // An invalid result sends its unit back for someone else, unless another result for it still awaits checking.
      const invalid = [...new Set(marked.filter((m) => m.state === 'invalid').map((m) => m.unit_id))]
      if (invalid.length > 0) {
        await this.#query(
          c,
          `UPDATE units u SET state = 'unsent', lease_device = NULL, deadline = NULL
           WHERE u.id = ANY($1::text[]) AND u.state = 'returned'
             AND NOT EXISTS (SELECT 1 FROM results r WHERE r.unit_id = u.id AND r.state = 'returned')`,
          [invalid],
        )
      }
    })
  }

  async uncreditedResults(limit: number): Promise<CreditCandidate[]> {
    const rows = await this.#rows<{ id: string; device_id: string; unit_id: string; cost_flops: number }>(
      this.#pool,
      `SELECT r.id, r.device_id, r.unit_id, u.cost_flops FROM results r JOIN units u ON u.id = r.unit_id
       WHERE r.state = 'valid' AND r.credited_at IS NULL ORDER BY r.validated_at, r.seq LIMIT $1`,
      [Math.max(0, Math.floor(limit))],
    )
    return rows.map((r) => ({ resultId: r.id, deviceId: r.device_id, unitId: r.unit_id, costFlops: r.cost_flops }))
  }

  async appendLedger(entries: LedgerAppend[], now: number): Promise<number> {
    if (entries.length === 0) return 0
    return this.#transaction(async (c) => {
      const ids = entries.map((e) => e.resultId)
      // Lock the results in id order: two hubs' credit loops crediting the same results take turns instead of waiting
      // on each other's ledger rows in a cycle; the second finds the rows there and writes none.
      await this.#query(c, 'SELECT 1 FROM results WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [ids])
      const { rowCount } = await this.#query(
        c,
        `INSERT INTO ledger (device_id, kind, result_id, amount_flops, created_at)
         SELECT e.device_id, 'compute', e.result_id, e.amount_flops, $4
         FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS e (device_id, result_id, amount_flops, ord)
         ORDER BY e.ord
         ON CONFLICT (result_id) DO NOTHING`,
        [entries.map((e) => e.deviceId), ids, entries.map((e) => e.amountFlops), now],
      )
      await this.#query(c, 'UPDATE results SET credited_at = $1 WHERE id = ANY($2::text[])', [now, ids])
      return rowCount ?? 0
    })
  }

  async completeJobs(now: number): Promise<string[]> {
    // One statement: when two hubs complete at once, the second finds the job no longer 'open' and reports nothing.
    const rows = await this.#rows<{ id: string }>(
      this.#pool,
      `WITH done AS (
         UPDATE jobs j SET state = 'done', completed_at = $1
         WHERE state = 'open' AND NOT EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.state != 'done')
         RETURNING id, seq
       )
       SELECT id FROM done ORDER BY seq`,
      [now],
    )
    return rows.map((r) => r.id)
  }

  async recordReceipts({ receipts, now, flopsPerByte, dailyCapBytes, allowSameNetwork }: RecordReceiptsParameters): Promise<ReceiptOutcome[]> {
    if (receipts.length === 0) return []
    const day = Math.floor(now / 86_400_000)
    // Two hubs crediting the same (receiver, blob) or receipt id at once: the loser's unique violation is retried and
    // then refused or reported as a duplicate, as if it had come second.
    return this.#transaction(
      async (c) => {
        // The daily cap is per server: lock the servers' device rows (in id order) so that two hubs crediting the same
        // server take turns and both see what the other credited.
        await this.#query(c, 'SELECT 1 FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [[...new Set(receipts.map((r) => r.server))]])
        const outcomes: ReceiptOutcome[] = []
        for (const r of receipts) {
          const refused = (reason: string): ReceiptOutcome => ({ kind: 'refused', reason })
          outcomes.push(
            await (async (): Promise<ReceiptOutcome> => {
              const [seen] = await this.#rows<{ receiver: string; server: string; blob: string; unit_id: string; bytes: number; credit: number }>(
                c,
                `SELECT r.receiver, r.server, r.blob, r.unit_id, r.bytes, COALESCE(l.amount_flops, 0) AS credit
                 FROM receipts r LEFT JOIN ledger l ON l.receipt_id = r.id WHERE r.id = $1`,
                [r.receiptId],
              )
              if (seen) {
                const same =
                  seen.receiver === r.receiver && seen.server === r.server && seen.blob === r.blob && seen.unit_id === r.unitId && seen.bytes === r.bytes
                return same
                  ? { kind: 'duplicate', creditFlops: seen.credit }
                  : refused(`receipt id ${r.receiptId} was already used for another receipt; choose a new id for a new receipt`)
              }
              const [unit] = await this.#rows<{ inputs: string[] }>(c, 'SELECT inputs FROM units WHERE id = $1', [r.unitId])
              if (!unit) return refused(`unit ${r.unitId} does not exist`)
              if (!unit.inputs.includes(r.blob)) return refused(`unit ${r.unitId} does not read blob ${r.blob}`)
              const [held] = await this.#rows<{ held: boolean }>(
                c,
                `SELECT EXISTS (SELECT 1 FROM leases WHERE unit_id = $1 AND device_id = $2)
                     OR EXISTS (SELECT 1 FROM results WHERE unit_id = $1 AND device_id = $2) AS held`,
                [r.unitId, r.receiver],
              )
              if (!held.held) return refused(`the receiver never leased unit ${r.unitId}`)
              const [blob] = await this.#rows<{ size: number }>(c, 'SELECT size FROM blobs WHERE hash = $1', [r.blob])
              if (!blob) return refused(`blob ${r.blob} is not stored on this hub`)
              if (blob.size !== r.bytes) return refused(`bytes is ${r.bytes}, but blob ${r.blob} is ${blob.size} bytes`)
              const networks = new Map(
                (
                  await this.#rows<{ id: string; network: string | null }>(c, 'SELECT id, network FROM devices WHERE id = ANY($1::text[])', [[r.server, r.receiver]])
                ).map((d) => [d.id, d.network]),
              )
              if (!networks.has(r.server)) return refused(`the server ${r.server} is not a known device (it has never called the hub)`)
              if (!allowSameNetwork) {
                const receiverNetwork = networks.get(r.receiver)
                const serverNetwork = networks.get(r.server)
                if (!receiverNetwork || !serverNetwork) {
                  return refused('the hub does not know from which networks the receiver and the server call, so it cannot tell they are independent')
                }
                if (receiverNetwork === serverNetwork) {
                  return refused('the receiver and the server call the hub from the same network; only serving independent volunteers earns credit')
                }
              }
              const [prior] = await this.#rows<{ id: string }>(c, 'SELECT id FROM receipts WHERE receiver = $1 AND blob = $2', [r.receiver, r.blob])
              if (prior) return refused(`the receiver already has a credited receipt (${prior.id}) for blob ${r.blob}; one per receiver and blob`)
              const [{ bytes: served }] = await this.#rows<{ bytes: number }>(
                c,
                'SELECT COALESCE(SUM(bytes), 0)::bigint AS bytes FROM receipts WHERE server = $1 AND day = $2',
                [r.server, day],
              )
              if (served + r.bytes > dailyCapBytes) {
                return refused(
                  `the server was credited for ${served} bytes today (UTC); ${r.bytes} more would pass the daily cap of ${dailyCapBytes} bytes`,
                )
              }
              const creditFlops = r.bytes * flopsPerByte
              await this.#query(
                c,
                `INSERT INTO receipts (id, receiver, server, blob, unit_id, bytes, signed_at, signature, submitted_by, received_at, day)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
                [r.receiptId, r.receiver, r.server, r.blob, r.unitId, r.bytes, r.signedAt, r.signature, r.submittedBy, now, day],
              )
              await this.#query(c, `INSERT INTO ledger (device_id, kind, receipt_id, amount_flops, created_at) VALUES ($1, 'bandwidth', $2, $3, $4)`, [
                r.server,
                r.receiptId,
                creditFlops,
                now,
              ])
              return { kind: 'credited', creditFlops }
            })(),
          )
        }
        return outcomes
      },
      { retryUnique: true },
    )
  }

  async deviceSummary(deviceId: string): Promise<DeviceSummary> {
    // One statement: one snapshot and one round trip for the whole summary.
    const [row] = await this.#rows<{
      returned: number
      valid: number
      invalid: number
      credit: number
      crediting: number
      served: number
      earned: number
    }>(
      this.#pool,
      `SELECT
         (SELECT COUNT(*) FROM results WHERE device_id = $1 AND state = 'returned') AS returned,
         (SELECT COUNT(*) FROM results WHERE device_id = $1 AND state = 'valid') AS valid,
         (SELECT COUNT(*) FROM results WHERE device_id = $1 AND state = 'invalid') AS invalid,
         (SELECT COALESCE(SUM(amount_flops), 0) FROM ledger WHERE device_id = $1) AS credit,
         (SELECT COUNT(*) FROM results WHERE device_id = $1 AND state = 'valid' AND credited_at IS NULL) AS crediting,
         (SELECT COALESCE(SUM(bytes), 0)::bigint FROM receipts WHERE server = $1) AS served,
         (SELECT COALESCE(SUM(amount_flops), 0) FROM ledger WHERE device_id = $1 AND kind = 'bandwidth') AS earned`,
      [deviceId],
    )
    return {
      returned: row.returned,
      valid: row.valid,
      invalid: row.invalid,
      creditFlops: row.credit,
      crediting: row.crediting,
      bandwidth: { servedBytes: row.served, creditFlops: row.earned },
    }
  }

  async deviceResults(deviceId: string, limit: number): Promise<DeviceResultRecord[]> {
    const rows = await this.#rows<{
      id: string
      unit_id: string
      job_id: string
      workload: string
      state: ResultState
      reason: string | null
      credit: number
      backend: Backend
      elapsed_ms: number
      received_at: number
      validated_at: number | null
    }>(
      this.#pool,
      `SELECT r.id, r.unit_id, u.job_id, j.workload, r.state, r.reason, COALESCE(l.amount_flops, 0) AS credit,
              r.backend, r.elapsed_ms, r.received_at, r.validated_at
       FROM results r JOIN units u ON u.id = r.unit_id JOIN jobs j ON j.id = u.job_id
       LEFT JOIN ledger l ON l.result_id = r.id
       WHERE r.device_id = $1 ORDER BY r.received_at DESC, r.seq DESC LIMIT $2`,
      [deviceId, Math.max(0, Math.floor(limit))],
    )
    return rows.map((r) => ({
      resultId: r.id,
      unitId: r.unit_id,
      jobId: r.job_id,
      workload: r.workload,
      state: r.state,
      reason: r.reason,
      creditFlops: r.credit,
      backend: r.backend,
      elapsedMs: r.elapsed_ms,
      receivedAt: r.received_at,
      validatedAt: r.validated_at,
    }))
  }

  async deviceLedger(deviceId: string, limit: number): Promise<LedgerEntry[]> {
    const rows = await this.#rows<{
      seq: number
      device_id: string
      kind: LedgerKind
      result_id: string | null
      receipt_id: string | null
      amount_flops: number
      created_at: number
    }>(
      this.#pool,
      `SELECT * FROM (SELECT seq, device_id, kind, result_id, receipt_id, amount_flops, created_at FROM ledger
       WHERE device_id = $1 ORDER BY seq DESC LIMIT $2) AS latest ORDER BY seq`,
      [deviceId, Math.max(0, Math.floor(limit))],
    )
    return rows.map((r) => ({
      seq: r.seq,
      deviceId: r.device_id,
      kind: r.kind,
      resultId: r.result_id,
      receiptId: r.receipt_id,
      amountFlops: r.amount_flops,
      createdAt: r.created_at,
    }))
  }

  async partnerTotals(): Promise<PartnerTotals[]> {
    const rows = await this.#rows<{ partner: string; units: number; credit: number; devices: number }>(
      this.#pool,
      `SELECT r.partner, COUNT(*) AS units, SUM(l.amount_flops) AS credit, COUNT(DISTINCT r.device_id) AS devices
       FROM results r JOIN ledger l ON l.result_id = r.id
       WHERE r.partner IS NOT NULL GROUP BY r.partner ORDER BY credit DESC, r.partner`,
    )
    return rows.map((r) => ({ partner: r.partner, units: r.units, creditFlops: r.credit, devices: r.devices }))
  }

  async unitStates(): Promise<Record<UnitState, number>> {
    const rows = await this.#rows<{ state: UnitState; n: number }>(this.#pool, 'SELECT state, COUNT(*) AS n FROM units GROUP BY state')
    const states: Record<UnitState, number> = { unsent: 0, leased: 0, returned: 0, done: 0 }
    for (const row of rows) states[row.state] = row.n
    return states
  }

  async counts(): Promise<StoreCounts> {
    const [row] = await this.#rows<StoreCounts & pg.QueryResultRow>(
      this.#pool,
      `SELECT (SELECT COUNT(*) FROM jobs) AS jobs, (SELECT COUNT(*) FROM units) AS units,
              (SELECT COUNT(*) FROM leases) AS leases, (SELECT COUNT(*) FROM results) AS results,
              (SELECT COUNT(*) FROM ledger) AS ledger, (SELECT COUNT(*) FROM devices) AS devices,
              (SELECT COUNT(*) FROM blobs) AS blobs, (SELECT COUNT(*) FROM receipts) AS receipts`,
    )
    return row
  }
}
