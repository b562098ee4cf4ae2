/**
 * The default store: one SQLite file with better-sqlite3, in WAL mode. What the hub acknowledges to someone (a result,
 * a job, a receipt, an uploaded blob, a sign-in) is on disk before the method resolves: the transaction commits, then
 * an fsync of the WAL on the thread pool, shared with every other write committed before it began, makes it durable
 * (see `#durable` and wal-sync.ts); throughput also comes from batching many results into one transaction (see
 * `server/ingest.ts`). The hub's own bookkeeping (leases, verdicts, credit, the decision log) commits without waiting
 * for the disk: safe against a crash of the hub process; the next sync covers it (the WAL is written in order). A
 * power cut can lose that bookkeeping since the last sync, never an acknowledged result: the validator and the credit
 * loop then recompute it from the stored results (credit is the cost model's, so the same amounts), and lost leases are
 * work handed out again. Checkpoints run on a worker thread (wal-checkpointer.ts). All SQL of the hub lives here.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.ts'
import { WalSync } from './wal-sync.ts'
import { notLeased, quorumDecision, quotaHalved, quotaOf, reusedResultId, secondResult, unknownUnit } from './decisions.ts'
import type {
  CreditCandidate,
  CurrentJob,
  DeviceCreditWindow,
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
  ValidatorPass,
  UnitVerdict,
  QuorumCandidate,
  Decision,
  Store,
  StoreCounts,
  UnitCounts,
  UnitRecord,
  UnitState,
} from './types.ts'
import type { Backend, ResultState } from '../../protocol/schemas.ts'

/**
 * Schema versions, applied in order; `PRAGMA user_version` records how many ran. Never edit a shipped entry.
 * Exported for the migration test only.
 */
export const MIGRATIONS: readonly string[] = [
  /* sql */ `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    workload TEXT NOT NULL,
    version INTEGER NOT NULL,
    label TEXT,
    state TEXT NOT NULL CHECK (state IN ('open', 'done', 'error')),
    params TEXT NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    completed_at INTEGER
  );
  CREATE INDEX jobs_open ON jobs (state, seq);

  CREATE TABLE units (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    idx INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('unsent', 'leased', 'returned', 'done')),
    lease_device TEXT,
    deadline INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    cost_flops REAL NOT NULL,
    spec TEXT NOT NULL,
    inputs TEXT NOT NULL,
    canonical_result TEXT,
    UNIQUE (job_id, idx)
  );
  CREATE INDEX units_leased ON units (deadline) WHERE state = 'leased';
  -- Leasing walks only the units that can still be handed out, in job order, however many are done.
  CREATE INDEX units_leasable ON units (job_id, idx) WHERE state IN ('unsent', 'leased');

  -- Every lease ever given: a result is accepted only from a device that leased its unit.
  CREATE TABLE leases (
    id INTEGER PRIMARY KEY,
    unit_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    leased_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL
  );
  CREATE INDEX leases_unit_device ON leases (unit_id, device_id);

  CREATE TABLE results (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('returned', 'valid', 'invalid')),
    reason TEXT,
    output BLOB NOT NULL,
    backend TEXT NOT NULL,
    elapsed_ms INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    validated_at INTEGER,
    credited_at INTEGER
  );
  CREATE INDEX results_unit_device ON results (unit_id, device_id);
  CREATE INDEX results_device ON results (device_id, received_at);
  CREATE INDEX results_returned ON results (received_at) WHERE state = 'returned';
  CREATE INDEX results_uncredited ON results (validated_at) WHERE state = 'valid' AND credited_at IS NULL;

  -- Append-only: the triggers refuse edits, so credit can only ever be added by a new row.
  CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    result_id TEXT NOT NULL UNIQUE,
    amount_flops REAL NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX ledger_device ON ledger (device_id, seq);
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
  CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

  CREATE TABLE devices (id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);

  CREATE TABLE blobs (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL, size INTEGER NOT NULL);
  `,
  /* sql */ `
  -- The network a device last made a request from (see server/receipts/network.ts), for the independence rule of
  -- bandwidth receipts.
  ALTER TABLE devices ADD COLUMN network TEXT;

  -- Bandwidth receipts that earned credit: one per (receiver, blob), kept with the receiver's signature as evidence.
  CREATE TABLE receipts (
    id TEXT PRIMARY KEY,
    receiver TEXT NOT NULL,
    server TEXT NOT NULL,
    blob TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    signed_at INTEGER NOT NULL,
    signature TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    -- UTC day number (ms since the epoch / 86400000), for the per-server daily cap.
    day INTEGER NOT NULL,
    UNIQUE (receiver, blob)
  );
  CREATE INDEX receipts_server_day ON receipts (server, day);

  -- The ledger gains a kind: 'compute' rows point at a result, 'bandwidth' rows at a receipt. SQLite cannot relax a
  -- NOT NULL column in place, so the table is rebuilt with its rows, sequence numbers and append-only triggers.
  CREATE TABLE ledger_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('compute', 'bandwidth')),
    result_id TEXT UNIQUE,
    receipt_id TEXT UNIQUE REFERENCES receipts (id),
    amount_flops REAL NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((kind = 'compute') = (result_id IS NOT NULL) AND (kind = 'bandwidth') = (receipt_id IS NOT NULL))
  );
  INSERT INTO ledger_v2 (seq, device_id, kind, result_id, amount_flops, created_at)
    SELECT seq, device_id, 'compute', result_id, amount_flops, created_at FROM ledger ORDER BY seq;
  DROP TABLE ledger;
  ALTER TABLE ledger_v2 RENAME TO ledger;
  CREATE INDEX ledger_device ON ledger (device_id, seq);
  CREATE INDEX ledger_device_kind ON ledger (device_id, kind);
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
  CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
  `,
  // 3: Sign-In with Ethereum: single-use nonces, wallet sessions, devices linked to wallets.
  /* sql */ `
  CREATE TABLE siwe_nonces (nonce TEXT PRIMARY KEY, issued_at INTEGER NOT NULL, used_at INTEGER);
  CREATE TABLE wallet_sessions (
    token_hash TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE device_wallets (device_id TEXT PRIMARY KEY, address TEXT NOT NULL, linked_at INTEGER NOT NULL);
  CREATE INDEX device_wallets_address ON device_wallets (address);
  `,
  // 4: partner attribution (issue 5): the partner site whose widget leased a unit, and whose widget a result came through.
  /* sql */ `
  ALTER TABLE leases ADD COLUMN partner TEXT;
  ALTER TABLE results ADD COLUMN partner TEXT;
  CREATE INDEX results_partner ON results (partner) WHERE partner IS NOT NULL;
  `,
  // 5: replicas and quorum, independence, reputation, quotas, known-answer units, the decision log (issue 7).
  /* sql */ `
  ALTER TABLE units ADD COLUMN quorum INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE units ADD COLUMN wanted INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE units ADD COLUMN max_results INTEGER NOT NULL DEFAULT 8;
  ALTER TABLE units ADD COLUMN known_answer INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE units ADD COLUMN error TEXT;

  -- A lease is live until its result comes (returned) or its deadline passes (expired). network and wallet are the
  -- device's when it leased: replicas of a unit never share a device, a wallet, or (by default) a network.
  ALTER TABLE leases ADD COLUMN state TEXT NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'returned', 'expired'));
  ALTER TABLE leases ADD COLUMN network TEXT;
  ALTER TABLE leases ADD COLUMN wallet TEXT;
  UPDATE leases SET state = 'returned' WHERE EXISTS (SELECT 1 FROM results r WHERE r.unit_id = leases.unit_id AND r.device_id = leases.device_id);
  UPDATE leases SET state = 'expired' WHERE state = 'live' AND NOT EXISTS
    (SELECT 1 FROM units u WHERE u.id = leases.unit_id AND u.state = 'leased' AND u.lease_device = leases.device_id);
  CREATE INDEX leases_live ON leases (deadline) WHERE state = 'live';
  -- Leasing walks only the units that need another replica, in job order (not past the leased ones).
  CREATE INDEX units_unsent ON units (job_id, idx) WHERE state = 'unsent';

  -- A result that passed its own check and waits for its replicas to agree.
  ALTER TABLE results ADD COLUMN checked INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX results_quorum ON results (unit_id) WHERE state = 'returned' AND checked = 1;
  DROP INDEX results_returned;
  CREATE INDEX results_returned ON results (received_at) WHERE state = 'returned' AND checked = 0;

  -- Reputation: consecutive valid results per device and workload version.
  CREATE TABLE reputation (
    device_id TEXT NOT NULL,
    workload TEXT NOT NULL,
    version INTEGER NOT NULL,
    streak INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, workload, version)
  );
  -- Daily quota: the hub's default halved quota_shift times (each invalid result adds one, each valid one takes one
  -- away); units leased on quota_day; measured speed (flops per ms from lease to result).
  ALTER TABLE devices ADD COLUMN quota_shift INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE devices ADD COLUMN quota_day INTEGER;
  ALTER TABLE devices ADD COLUMN leased_today INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE devices ADD COLUMN flops_per_ms REAL;

  -- Every decision about a device's leases, results and credit, so the hub can say why a result earned nothing.
  CREATE TABLE decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    device_id TEXT,
    unit_id TEXT,
    result_id TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX decisions_device ON decisions (device_id, seq);
  CREATE INDEX decisions_result ON decisions (result_id) WHERE result_id IS NOT NULL;
  `,
  // 6: the units of a job not done yet (completeJobs asks this after every credit pass; without it, a scan of the
  // job's units).
  /* sql */ `
  CREATE INDEX units_open ON units (job_id) WHERE state != 'done';
  `,
]

interface JobRow {
  id: string
  workload: string
  version: number
  label: string | null
  state: JobRecord['state']
  params: string
  demo: number
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
  spec: string
  inputs: string
  cost_flops: number
  lease_device: string | null
  deadline: number | null
  attempts: number
  canonical_result: string | null
  quorum: number
  wanted: number
  known_answer: number
  error: string | null
}

const UNIT_COLUMNS = /* sql */ `u.id, u.job_id, u.idx, j.workload, j.version, u.state, u.spec, u.inputs, u.cost_flops,
  u.lease_device, u.deadline, u.attempts, u.canonical_result, u.quorum, u.wanted, u.known_answer, u.error`

/**
 * Recomputes a unit's state from its leases and results (@unit): done stays done; fewer live leases plus results
 * that are not invalid than `wanted` -> unsent (more replicas to issue); a live lease left -> leased; else returned.
 */
const settleUnitSql = (set = '') => /* sql */ `UPDATE units SET ${set}state = CASE
    WHEN state = 'done' THEN 'done'
    WHEN (SELECT COUNT(*) FROM leases WHERE unit_id = @unit AND state = 'live')
       + (SELECT COUNT(*) FROM results WHERE unit_id = @unit AND state != 'invalid') < wanted THEN 'unsent'
    WHEN EXISTS (SELECT 1 FROM leases WHERE unit_id = @unit AND state = 'live') THEN 'leased'
    ELSE 'returned' END,
  lease_device = (SELECT device_id FROM leases WHERE unit_id = @unit AND state = 'live' ORDER BY deadline DESC LIMIT 1),
  deadline = (SELECT MAX(deadline) FROM leases WHERE unit_id = @unit AND state = 'live')
  WHERE id = @unit`
const SETTLE_UNIT = settleUnitSql()
/** SETTLE_UNIT for a unit just leased: its attempt is counted in the same write. */
const SETTLE_LEASED_UNIT = settleUnitSql('attempts = attempts + 1, ')

/** better-sqlite3 binds Buffers as BLOBs; this views a Uint8Array as one without copying. */
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
    spec: JSON.parse(row.spec),
    inputs: JSON.parse(row.inputs),
    costFlops: row.cost_flops,
    leaseDevice: row.lease_device,
    deadline: row.deadline,
    attempts: row.attempts,
    canonicalResultId: row.canonical_result,
    quorum: row.quorum,
    wanted: row.wanted,
    knownAnswer: row.known_answer === 1,
    error: row.error,
  }
}

function emptyCounts(): UnitCounts {
  return { total: 0, unsent: 0, leased: 0, returned: 0, done: 0, error: 0 }
}

/** UTC day number of `now`. */
const utcDay = (now: number) => Math.floor(now / 86_400_000)

/** With background checkpoints, the WAL's size (in 4 KiB pages) at which the hub's own commit finishes a checkpoint. */
const WAL_RESTART_PAGES = 16_384

/** Opens (creating if needed) the SQLite store at `file` and runs pending migrations. */
export function openSqliteStore(file: string): SqliteStore {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  return new SqliteStore(new Database(file), { file })
}

export interface SqliteStoreOptions {
  /**
   * The database's file. With it, the WAL is checkpointed on a worker thread (wal-checkpointer.ts) instead of in
   * commits, and acknowledged writes are synced by a shared fsync off the event loop (wal-sync.ts) instead of a FULL
   * commit each.
   */
  file?: string
}

/** The `Store` over one better-sqlite3 database; use `openSqliteStore` to create one. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite'
  readonly commitsInCallOrder = true
  readonly #db: Database.Database
  readonly #statements = new Map<string, Database.Statement>()
  readonly #checkpointer: WalCheckpointer | undefined
  readonly #wal: WalSync | undefined

  constructor(db: Database.Database, { file }: SqliteStoreOptions = {}) {
    this.#db = db
    db.pragma('journal_mode = WAL')
    // Commits do not wait for the disk; what the hub acknowledges is synced before it is (see #durable).
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    this.#migrate()
    if (file) {
      this.#wal = new WalSync(file)
      // The thread copies pages while the hub keeps writing, so it rarely reaches the log's end, and SQLite starts the
      // log over only once everything in it is copied: every WAL_RESTART_PAGES the hub's own commit checkpoints the
      // little that is left (and syncs), which lets the next write start the log from its beginning again.
      db.pragma(`wal_autocheckpoint = ${WAL_RESTART_PAGES}`)
      this.#checkpointer = startWalCheckpointer(file, {
        onFailure: (error) => {
          console.warn(`${error instanceof Error ? error.message : String(error)}; SQLite checkpoints in commits again.`)
          if (db.open) db.pragma('wal_autocheckpoint = 1000')
        },
      })
    }
  }

  #migrate(): void {
    const current = this.#db.pragma('user_version', { simple: true }) as number
    if (current > MIGRATIONS.length) {
      throw new Error(
        `The database schema is version ${current}, newer than this hub knows (${MIGRATIONS.length}); run a newer hub.`,
      )
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v])
        this.#db.pragma(`user_version = ${v + 1}`)
      })()
    }
  }

  /**
   * Runs `write` (one transaction) and resolves once what it committed is on disk. With the database's file known, the
   * commit itself does not wait for the disk (synchronous=NORMAL); an fsync of the WAL on libuv's thread pool then
   * makes it durable, shared by every write committed before that fsync began (group commit: the hub goes on serving
   * while the disk syncs, and one sync acknowledges many requests). This is what synchronous=FULL does in WAL mode (sync
   * the log after the commit's frames), moved off the event loop. A checkpoint that reuses the WAL first syncs the
   * database file, so frames it copied there stay durable. Without a file: a FULL commit, synchronously.
   */
  async #durable<T>(write: () => T): Promise<T> {
    if (!this.#wal) {
      this.#db.pragma('synchronous = FULL')
      try {
        return write()
      } finally {
        this.#db.pragma('synchronous = NORMAL')
      }
    }
    const result = write()
    await this.#wal.sync()
    return result
  }

  /** A prepared statement, compiled once per distinct SQL text. */
  #sql(sql: string): Database.Statement {
    let statement = this.#statements.get(sql)
    if (!statement) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  async close(): Promise<void> {
    await this.#checkpointer?.stop()
    if (this.#db.open) this.#db.close()
    this.#wal?.close()
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = this.#sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
    return row?.value
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#durable(() =>
      this.#sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value),
    )
  }

  async touchDevice(deviceId: string, now: number, network?: string): Promise<void> {
    this.#sql(
        `INSERT INTO devices (id, first_seen, last_seen, network) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen),
           network = COALESCE(excluded.network, network)`,
      )
      .run(deviceId, now, now, network ?? null)
  }

  async issueNonce(nonce: string, now: number): Promise<void> {
    await this.#durable(() => this.#sql('INSERT INTO siwe_nonces (nonce, issued_at) VALUES (?, ?)').run(nonce, now))
  }

  async consumeNonce(nonce: string, now: number, maxAgeMs: number): Promise<boolean> {
    const changed = await this.#durable(
      () => this.#sql('UPDATE siwe_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL AND issued_at >= ?').run(now, nonce, now - maxAgeMs).changes,
    )
    return changed === 1
  }

  async openSession(session: { tokenHash: string; address: string; deviceId: string; expiresAt: number }, now: number): Promise<'opened' | 'other_wallet'> {
    return this.#durable(this.#db.transaction((): 'opened' | 'other_wallet' => {
      const linked = this.#sql('SELECT address FROM device_wallets WHERE device_id = ?').get(session.deviceId) as { address: string } | undefined
      if (linked && linked.address !== session.address) return 'other_wallet'
      this.#sql('INSERT INTO wallet_sessions (token_hash, address, device_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(session.tokenHash, session.address, session.deviceId, now, session.expiresAt)
      this.#sql(
        `INSERT INTO device_wallets (device_id, address, linked_at) VALUES (?, ?, ?) ON CONFLICT (device_id) DO NOTHING`,
      ).run(session.deviceId, session.address, now)
      return 'opened'
    }))
  }

  async sessionAddress(tokenHash: string, now: number): Promise<string | undefined> {
    const row = this.#sql('SELECT address FROM wallet_sessions WHERE token_hash = ? AND expires_at > ?').get(tokenHash, now) as
      | { address: string }
      | undefined
    return row?.address
  }

  async walletDevices(address: string): Promise<string[]> {
    return (this.#sql('SELECT device_id FROM device_wallets WHERE address = ? ORDER BY linked_at').all(address) as { device_id: string }[]).map(
      (r) => r.device_id,
    )
  }

  async putBlob(hash: string, bytes: Uint8Array): Promise<void> {
    await this.#durable(() => this.#sql('INSERT OR IGNORE INTO blobs (hash, bytes, size) VALUES (?, ?, ?)').run(hash, asBuffer(bytes), bytes.byteLength))
  }

  async getBlob(hash: string): Promise<Uint8Array | undefined> {
    const row = this.#sql('SELECT bytes FROM blobs WHERE hash = ?').get(hash) as { bytes: Buffer } | undefined
    return row?.bytes
  }

  async insertJob(job: NewJob, units: NewUnit[], blobs: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const insertJob = this.#sql(
      `INSERT INTO jobs (id, workload, version, label, state, params, demo, created_at)
       VALUES (@id, @workload, @version, @label, 'open', @params, @demo, @createdAt)`,
    )
    const insertUnit = this.#sql(
      `INSERT INTO units (id, job_id, idx, state, cost_flops, spec, inputs, quorum, wanted, max_results, known_answer)
       VALUES (@id, @jobId, @index, 'unsent', @costFlops, @spec, @inputs, @quorum, @wanted, @maxResults, @knownAnswer)`,
    )
    const insertBlob = this.#sql('INSERT OR IGNORE INTO blobs (hash, bytes, size) VALUES (?, ?, ?)')
    await this.#durable(this.#db.transaction(() => {
      insertJob.run({ ...job, params: JSON.stringify(job.params), demo: job.demo ? 1 : 0 })
      for (const unit of units) {
        const quorum = unit.quorum ?? 1
        insertUnit.run({
          id: unit.id,
          jobId: job.id,
          index: unit.index,
          costFlops: unit.costFlops,
          spec: JSON.stringify(unit.spec),
          inputs: JSON.stringify(unit.inputs),
          quorum,
          // A known-answer unit needs one result: the hub checks it against the answer it computes.
          wanted: unit.knownAnswer ? 1 : quorum,
          maxResults: unit.maxResults ?? 8,
          knownAnswer: unit.knownAnswer ? 1 : 0,
        })
      }
      for (const [hash, bytes] of blobs) insertBlob.run(hash, asBuffer(bytes), bytes.byteLength)
    }))
  }

  #jobs(where: string, params: unknown[], tail = ''): JobRecord[] {
    const rows = this.#sql(`SELECT id, workload, version, label, state, params, demo, created_at, completed_at FROM jobs ${where} ${tail}`)
      .all(...params) as JobRow[]
    if (rows.length === 0) return []
    const counts = new Map<string, UnitCounts>(rows.map((r) => [r.id, emptyCounts()]))
    const countRows = this.#sql(
        `SELECT job_id, state, COUNT(*) AS n, COUNT(error) AS errors FROM units
         WHERE job_id IN (SELECT value FROM json_each(?)) GROUP BY job_id, state`,
      )
      .all(JSON.stringify(rows.map((r) => r.id))) as { job_id: string; state: UnitState; n: number; errors: number }[]
    for (const c of countRows) {
      const counts1 = counts.get(c.job_id)!
      counts1[c.state] += c.n
      counts1.total += c.n
      counts1.error += c.errors
    }
    return rows.map((r) => ({
      id: r.id,
      workload: r.workload,
      version: r.version,
      label: r.label,
      state: r.state,
      params: JSON.parse(r.params),
      demo: r.demo === 1,
      createdAt: r.created_at,
      completedAt: r.completed_at,
      units: counts.get(r.id)!,
    }))
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    return this.#jobs('WHERE id = ?', [id])[0]
  }

  async listJobs(limit: number): Promise<JobRecord[]> {
    return this.#jobs('', [Math.max(0, Math.floor(limit))], 'ORDER BY seq DESC LIMIT ?')
  }

  async countOpenDemoJobs(): Promise<number> {
    const row = this.#sql(`SELECT COUNT(*) AS n FROM jobs WHERE state = 'open' AND demo = 1`).get() as { n: number }
    return row.n
  }

  async currentJob(): Promise<CurrentJob | undefined> {
    // The job leaseUnits takes units from first (jobs_open serves this).
    const row = this.#sql(`SELECT id, workload, label FROM jobs WHERE state = 'open' ORDER BY seq LIMIT 1`).get() as { id: string; workload: string; label: string | null } | undefined
    return row && { id: row.id, workload: row.workload, label: row.label }
  }

  async getUnit(id: string): Promise<UnitRecord | undefined> {
    const row = this.#sql(`SELECT ${UNIT_COLUMNS} FROM units u JOIN jobs j ON j.id = u.job_id WHERE u.id = ?`).get(id) as
      | UnitRow
      | undefined
    return row && toUnit(row)
  }

  async getUnits(ids: readonly string[]): Promise<Map<string, UnitRecord>> {
    const units = new Map<string, UnitRecord>()
    for (const id of new Set(ids)) {
      const unit = await this.getUnit(id)
      if (unit) units.set(id, unit)
    }
    return units
  }

  async jobOutputs(jobId: string): Promise<(Uint8Array | undefined)[]> {
    const rows = this.#sql(
        `SELECT u.idx, r.output FROM units u LEFT JOIN results r ON r.id = u.canonical_result
         WHERE u.job_id = ? ORDER BY u.idx`,
      )
      .all(jobId) as { idx: number; output: Buffer | null }[]
    const out: (Uint8Array | undefined)[] = []
    for (const row of rows) out[row.idx] = row.output ?? undefined
    return out
  }

  async leaseUnits({
    deviceId,
    max,
    now,
    deadline,
    minLeaseMs = 60_000,
    partner,
    independentNetworks = true,
    dailyQuota = 10_000,
    trust,
  }: LeaseUnitsParameters): Promise<UnitRecord[]> {
    // Bookkeeping: committed without waiting for the disk (see the class comment).
    return this.#leaseTransaction({ deviceId, max, now, deadline, minLeaseMs, partner, independentNetworks, dailyQuota, trust })
  }

  #leaseTransaction({
    deviceId,
    max,
    now,
    deadline,
    minLeaseMs,
    partner,
    independentNetworks,
    dailyQuota,
    trust,
  }: Required<Omit<LeaseUnitsParameters, 'partner' | 'trust'>> & Pick<LeaseUnitsParameters, 'partner' | 'trust'>): UnitRecord[] {
    const device = this.#sql('SELECT network, quota_shift, quota_day, leased_today, flops_per_ms FROM devices WHERE id = ?')
    const wallet = this.#sql('SELECT address FROM device_wallets WHERE device_id = ?')
    const pick = this.#sql(
      `SELECT ${UNIT_COLUMNS} FROM jobs j JOIN units u ON u.job_id = j.id
       WHERE j.state = 'open' AND u.state = 'unsent'
         AND NOT EXISTS (SELECT 1 FROM results r WHERE r.unit_id = u.id AND r.device_id = @deviceId)
         AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.state != 'expired'
           AND (l.device_id = @deviceId OR l.wallet = @wallet OR l.network = @network))
       ORDER BY j.seq, u.idx
       LIMIT @max`,
    )
    const alone = this.#sql(
      `SELECT NOT EXISTS (SELECT 1 FROM leases WHERE unit_id = @unit AND state != 'expired')
          AND NOT EXISTS (SELECT 1 FROM results WHERE unit_id = @unit) AS alone`,
    )
    const streak = this.#sql('SELECT streak FROM reputation WHERE device_id = ? AND workload = ? AND version = ?')
    const unreplicated = this.#sql('UPDATE units SET wanted = 1 WHERE id = ?')
    const settle = this.#sql(SETTLE_LEASED_UNIT)
    const remember = this.#sql(
      `INSERT INTO leases (unit_id, device_id, leased_at, deadline, partner, network, wallet)
       VALUES (@id, @deviceId, @now, @deadline, @partner, @network, @wallet)`,
    )
    const used = this.#sql(
      `UPDATE devices SET quota_day = @day, leased_today = CASE WHEN quota_day = @day THEN leased_today ELSE 0 END + @n WHERE id = @deviceId`,
    )
    return this.#db.transaction(() => {
      this.#expire(now)
      const d = device.get(deviceId) as
        | { network: string | null; quota_shift: number; quota_day: number | null; leased_today: number; flops_per_ms: number | null }
        | undefined
      const day = utcDay(now)
      const left = quotaOf(dailyQuota, d?.quota_shift ?? 0) - (d?.quota_day === day ? d.leased_today : 0)
      if (left <= 0) return []
      const address = (wallet.get(deviceId) as { address: string } | undefined)?.address ?? null
      const network = independentNetworks ? (d?.network ?? null) : null
      const rows = pick.all({ deviceId, max: Math.min(max, left), wallet: address, network }) as UnitRow[]
      const leased: UnitRecord[] = []
      for (const row of rows) {
        // Adaptive replication: a trusted device may get a replicated unit alone when no one else has it yet.
        if (trust && row.quorum > 1 && row.wanted > 1 && !row.known_answer && (alone.get({ unit: row.id }) as { alone: number }).alone) {
          const s = (streak.get(deviceId, row.workload, row.version) as { streak: number } | undefined)?.streak ?? 0
          if (s >= trust.minStreak && trust.random() < Math.min(0.95, 1 - trust.minStreak / s)) {
            unreplicated.run(row.id)
            row.wanted = 1
          }
        }
        // Three times the unit's cost at the device's measured speed, plus 30 s; the configured lease at most.
        const unitDeadline = d?.flops_per_ms
          ? Math.min(deadline, now + Math.max(minLeaseMs, (3 * row.cost_flops) / d.flops_per_ms + 30_000))
          : deadline
        remember.run({ id: row.id, deviceId, now, deadline: unitDeadline, partner: partner ?? null, network: d?.network ?? null, wallet: address })
        settle.run({ unit: row.id })
        leased.push({ ...toUnit(row), state: 'leased', leaseDevice: deviceId, deadline: unitDeadline, attempts: row.attempts + 1 })
      }
      if (leased.length) used.run({ day, n: leased.length, deviceId })
      return leased
    })()
  }

  /** Marks live leases past their deadline expired and settles their units; returns how many. */
  #expire(now: number): number {
    const expired = this.#sql(`UPDATE leases SET state = 'expired' WHERE state = 'live' AND deadline < ? RETURNING unit_id`).all(now) as {
      unit_id: string
    }[]
    const settle = this.#sql(SETTLE_UNIT)
    for (const unit of new Set(expired.map((e) => e.unit_id))) settle.run({ unit })
    return expired.length
  }

  async expireLeases(now: number): Promise<number> {
    return this.#db.transaction(() => this.#expire(now))()
  }

  async insertResults(items: ResultInsert[]): Promise<ResultInsertOutcome[]> {
    // A result with this id, and this device's result for this unit, in one read (either, both, or the same row).
    const prior = this.#sql(
      `SELECT id, unit_id, device_id, state FROM results WHERE id = @resultId
       UNION ALL SELECT id, unit_id, device_id, state FROM results WHERE unit_id = @unitId AND device_id = @deviceId`,
    )
    const unitState = this.#sql('SELECT state FROM units WHERE id = ?')
    // The device's latest lease of the unit: that it has one, and the partner it was leased through.
    const lease = this.#sql('SELECT partner FROM leases WHERE unit_id = ? AND device_id = ? ORDER BY id DESC LIMIT 1')
    const insert = this.#sql(
      `INSERT INTO results (id, unit_id, device_id, state, output, backend, elapsed_ms, received_at, partner)
       VALUES (@resultId, @unitId, @deviceId, 'returned', @output, @backend, @elapsedMs, @receivedAt, @partner)`,
    )
    // The device's lease (even an expired one: a late result for an open unit counts) now has its result.
    const returned = this.#sql(`UPDATE leases SET state = 'returned' WHERE unit_id = ? AND device_id = ? AND state != 'returned'`)
    const settle = this.#sql(SETTLE_UNIT)
    const touch = this.#sql(
      `INSERT INTO devices (id, first_seen, last_seen) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`,
    )
    return this.#durable(this.#db.transaction(() => {
      /** When each device that returned a result was last seen (one write per device, not per result). */
      const seen = new Map<string, number>()
      const outcomes = items.map((item): ResultInsertOutcome => {
        const rows = prior.all(item) as { id: string; unit_id: string; device_id: string; state: ResultState }[]
        const existing = rows.find((r) => r.id === item.resultId)
        if (existing) {
          if (existing.unit_id === item.unitId && existing.device_id === item.deviceId) {
            return { kind: 'duplicate', state: existing.state }
          }
          return reusedResultId(item.resultId)
        }
        const latest = lease.get(item.unitId, item.deviceId) as { partner: string | null } | undefined
        if (!latest) return unitState.get(item.unitId) ? notLeased(item.unitId) : unknownUnit(item.unitId)
        const earlier = rows.find((r) => r.unit_id === item.unitId && r.device_id === item.deviceId)
        if (earlier) return secondResult(earlier, item.unitId)
        // Without a partner in the submission, the result keeps the partner its unit was leased through by this device.
        insert.run({ ...item, output: asBuffer(item.output), partner: item.partner ?? latest.partner })
        returned.run(item.unitId, item.deviceId)
        settle.run({ unit: item.unitId })
        seen.set(item.deviceId, Math.max(seen.get(item.deviceId) ?? 0, item.receivedAt))
        return { kind: 'accepted', state: 'returned' }
      })
      for (const [deviceId, at] of seen) touch.run(deviceId, at, at)
      return outcomes
    }))
  }

  async pendingResults(limit: number): Promise<PendingResult[]> {
    const rows = this.#sql(
        `SELECT r.id, r.unit_id, r.device_id, r.output, r.received_at, j.workload, u.spec, u.inputs, u.cost_flops, u.quorum,
                u.wanted, u.max_results, u.known_answer, c.output AS canonical,
                (SELECT MAX(l.leased_at) FROM leases l WHERE l.unit_id = r.unit_id AND l.device_id = r.device_id) AS leased_at
         FROM results r JOIN units u ON u.id = r.unit_id JOIN jobs j ON j.id = u.job_id
         LEFT JOIN results c ON c.id = u.canonical_result
         WHERE r.state = 'returned' AND r.checked = 0 ORDER BY r.received_at LIMIT ?`,
      )
      .all(limit) as {
      id: string
      unit_id: string
      device_id: string
      output: Buffer
      received_at: number
      workload: string
      spec: string
      inputs: string
      cost_flops: number
      quorum: number
      wanted: number
      max_results: number
      known_answer: number
      canonical: Buffer | null
      leased_at: number | null
    }[]
    return rows.map((r) => ({
      resultId: r.id,
      unitId: r.unit_id,
      deviceId: r.device_id,
      workload: r.workload,
      spec: JSON.parse(r.spec),
      inputs: JSON.parse(r.inputs),
      output: r.output,
      costFlops: r.cost_flops,
      quorum: r.quorum,
      wanted: r.wanted,
      maxResults: r.max_results,
      knownAnswer: r.known_answer === 1,
      canonical: r.canonical ?? undefined,
      leasedAt: r.leased_at ?? r.received_at,
      receivedAt: r.received_at,
    }))
  }

  async validatePending(limit: number, judge: (pending: PendingResult[]) => Promise<ValidatorPass>): Promise<ValidatorPass | undefined> {
    // One connection, one validator (SQLite serves one hub): nothing else judges these results meanwhile.
    const pending = await this.pendingResults(limit)
    if (pending.length === 0) return undefined
    const pass = await judge(pending)
    await this.recordVerdicts(pass.verdicts, pass.now, pass.units)
    return pass
  }

  async recordVerdicts(verdicts: ResultVerdict[], now: number, units: UnitVerdict[] = []): Promise<void> {
    const mark = this.#sql(
      `UPDATE results SET state = @state, reason = @reason, validated_at = @now WHERE id = @resultId AND state = 'returned'
       RETURNING unit_id, device_id`,
    )
    const pending = this.#sql(`UPDATE results SET checked = 1, reason = @reason WHERE id = @resultId AND state = 'returned' RETURNING unit_id, device_id`)
    const unitOf = this.#sql(`SELECT u.wanted, u.state, j.workload, j.version FROM units u JOIN jobs j ON j.id = u.job_id WHERE u.id = ?`)
    const done = this.#sql(`UPDATE units SET state = 'done', canonical_result = ? WHERE id = ? AND state != 'done'`)
    const failed = this.#sql(`UPDATE units SET state = 'done', error = ? WHERE id = ? AND state != 'done'`)
    const want = this.#sql(`UPDATE units SET wanted = ? WHERE id = ? AND state != 'done'`)
    const settle = this.#sql(SETTLE_UNIT)
    const good = this.#sql(
      `INSERT INTO reputation (device_id, workload, version, streak) VALUES (?, ?, ?, 1)
       ON CONFLICT (device_id, workload, version) DO UPDATE SET streak = streak + 1`,
    )
    const bad = this.#sql(
      `INSERT INTO reputation (device_id, workload, version, streak) VALUES (?, ?, ?, 0)
       ON CONFLICT (device_id, workload, version) DO UPDATE SET streak = 0`,
    )
    // The quota halves on an invalid result and doubles back on valid ones (see quotaOf).
    const halve = this.#sql(`UPDATE devices SET quota_shift = MIN(quota_shift + 1, 30) WHERE id = ? RETURNING quota_shift`)
    const double = this.#sql(`UPDATE devices SET quota_shift = quota_shift - 1 WHERE id = ? AND quota_shift > 0`)
    const speed = this.#sql(
      `UPDATE devices SET flops_per_ms = CASE WHEN flops_per_ms IS NULL THEN @v ELSE 0.7 * flops_per_ms + 0.3 * @v END WHERE id = @deviceId`,
    )
    const log = this.#sql(
      `INSERT INTO decisions (at, device_id, unit_id, result_id, kind, message) VALUES (@at, @deviceId, @unitId, @resultId, @kind, @message)`,
    )
    this.#db.transaction(() => {
      const touched = new Set<string>()
      /** Units done in this transaction: their state is final, nothing to settle. */
      const finished = new Set<string>()
      for (const v of verdicts) {
        const row = (v.state === 'pending' ? pending.get({ resultId: v.resultId, reason: v.reason }) : mark.get({ state: v.state, reason: v.reason, now, resultId: v.resultId })) as
          | { unit_id: string; device_id: string }
          | undefined
        if (!row) continue
        const unit = unitOf.get(row.unit_id) as { wanted: number; state: UnitState; workload: string; version: number }
        log.run({
          at: now,
          deviceId: row.device_id,
          unitId: row.unit_id,
          resultId: v.resultId,
          kind: 'verdict',
          message: v.state === 'pending' ? `Passed its own check; waiting for replicas to agree (${v.reason ?? 'replicated'}).` : `${v.state === 'valid' ? 'Valid' : 'Invalid'}: ${v.reason ?? 'verified'}.`,
        })
        if (v.state === 'valid') {
          good.run(row.device_id, unit.workload, unit.version)
          double.run(row.device_id)
          if (v.flopsPerMs && Number.isFinite(v.flopsPerMs)) speed.run({ v: v.flopsPerMs, deviceId: row.device_id })
          // An unreplicated unit is done with its first valid result; a replicated one waits for the quorum's verdict.
          if (unit.wanted <= 1 && done.run(v.resultId, row.unit_id).changes) finished.add(row.unit_id)
        } else if (v.state === 'invalid') {
          bad.run(row.device_id, unit.workload, unit.version)
          const shift = (halve.get(row.device_id) as { quota_shift: number } | undefined)?.quota_shift
          if (shift !== undefined) log.run(quotaHalved(now, { deviceId: row.device_id, unitId: row.unit_id, resultId: v.resultId }, shift))
        }
        touched.add(row.unit_id)
      }
      for (const u of units) {
        if (u.canonicalResultId) {
          if (done.run(u.canonicalResultId, u.unitId).changes) finished.add(u.unitId)
        } else if (u.error) {
          if (failed.run(u.error, u.unitId).changes) finished.add(u.unitId)
        } else if (u.wanted) {
          want.run(u.wanted, u.unitId)
        }
        const decision = quorumDecision(now, u)
        if (decision) log.run(decision)
        touched.add(u.unitId)
      }
      for (const unit of touched) if (!finished.has(unit)) settle.run({ unit })
    })()
  }

  async quorumCandidates(unitId: string): Promise<QuorumCandidate[]> {
    const rows = this.#sql(
      `SELECT id, device_id, output FROM results WHERE unit_id = ? AND state = 'returned' AND checked = 1 ORDER BY received_at, rowid`,
    ).all(unitId) as { id: string; device_id: string; output: Buffer }[]
    return rows.map((r) => ({ resultId: r.id, deviceId: r.device_id, output: r.output }))
  }

  async resultCount(unitId: string): Promise<number> {
    return (this.#sql('SELECT COUNT(*) AS n FROM results WHERE unit_id = ?').get(unitId) as { n: number }).n
  }

  async recordDecisions(decisions: Decision[]): Promise<void> {
    const log = this.#sql(
      `INSERT INTO decisions (at, device_id, unit_id, result_id, kind, message) VALUES (@at, @deviceId, @unitId, @resultId, @kind, @message)`,
    )
    this.#db.transaction(() => {
      for (const d of decisions) log.run(d)
    })()
  }

  async deviceDecisions(deviceId: string, { resultId, limit }: { resultId?: string; limit: number }): Promise<Decision[]> {
    // A result's log includes the quorum's entries about its unit (they name no device).
    const rows = (
      resultId
        ? this.#sql(
            `SELECT at, device_id, unit_id, result_id, kind, message FROM decisions
             WHERE (result_id = @resultId AND device_id = @deviceId)
                OR (device_id IS NULL AND unit_id = (SELECT unit_id FROM results WHERE id = @resultId AND device_id = @deviceId))
             ORDER BY seq LIMIT @limit`,
          ).all({ resultId, deviceId, limit })
        : this.#sql(
            `SELECT * FROM (SELECT seq, at, device_id, unit_id, result_id, kind, message FROM decisions WHERE device_id = ?
             ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
          ).all(deviceId, limit)
    ) as { at: number; device_id: string | null; unit_id: string | null; result_id: string | null; kind: string; message: string }[]
    return rows.map((r) => ({ at: r.at, deviceId: r.device_id, unitId: r.unit_id, resultId: r.result_id, kind: r.kind, message: r.message }))
  }

  async creditSince(deviceIds: readonly string[], since: number): Promise<Map<string, DeviceCreditWindow>> {
    const credit = this.#sql(`SELECT COALESCE(SUM(amount_flops), 0) AS total FROM ledger WHERE device_id = ? AND kind = 'compute' AND created_at >= ?`)
    const speed = this.#sql('SELECT flops_per_ms FROM devices WHERE id = ?')
    const out = new Map<string, DeviceCreditWindow>()
    for (const id of deviceIds) {
      if (out.has(id)) continue
      const total = (credit.get(id, since) as { total: number }).total
      out.set(id, { creditFlops: total, flopsPerMs: (speed.get(id) as { flops_per_ms: number | null } | undefined)?.flops_per_ms ?? null })
    }
    return out
  }

  async deviceQuota(deviceId: string, now: number, defaultQuota: number): Promise<{ quota: number; leasedToday: number }> {
    const d = this.#sql('SELECT quota_shift, quota_day, leased_today FROM devices WHERE id = ?').get(deviceId) as
      | { quota_shift: number; quota_day: number | null; leased_today: number }
      | undefined
    return { quota: quotaOf(defaultQuota, d?.quota_shift ?? 0), leasedToday: d?.quota_day === utcDay(now) ? d.leased_today : 0 }
  }

  async uncreditedResults(limit: number): Promise<CreditCandidate[]> {
    const rows = this.#sql(
        `SELECT r.id, r.device_id, r.unit_id, u.cost_flops FROM results r JOIN units u ON u.id = r.unit_id
         WHERE r.state = 'valid' AND r.credited_at IS NULL ORDER BY r.validated_at LIMIT ?`,
      )
      .all(limit) as { id: string; device_id: string; unit_id: string; cost_flops: number }[]
    return rows.map((r) => ({ resultId: r.id, deviceId: r.device_id, unitId: r.unit_id, costFlops: r.cost_flops }))
  }

  async appendLedger(entries: LedgerAppend[], now: number): Promise<number> {
    const append = this.#sql(
      `INSERT INTO ledger (device_id, kind, result_id, amount_flops, created_at) VALUES (?, 'compute', ?, ?, ?)
       ON CONFLICT (result_id) DO NOTHING`,
    )
    const credited = this.#sql('UPDATE results SET credited_at = ? WHERE id = ?')
    return this.#db.transaction(() => {
      let written = 0
      for (const e of entries) {
        written += append.run(e.deviceId, e.resultId, e.amountFlops, now).changes
        credited.run(now, e.resultId)
      }
      return written
    })()
  }

  async completeJobs(now: number): Promise<string[]> {
    return this.#db.transaction(() => {
      const rows = this.#sql(
          `SELECT id FROM jobs j WHERE state = 'open'
           AND NOT EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.state != 'done')`,
        )
        .all() as { id: string }[]
      // A unit that never reached a quorum makes its job an error for the owner (its other units' answers stay).
      const mark = this.#sql(
        `UPDATE jobs SET state = CASE WHEN EXISTS (SELECT 1 FROM units WHERE job_id = @id AND error IS NOT NULL) THEN 'error' ELSE 'done' END,
           completed_at = @now WHERE id = @id`,
      )
      for (const r of rows) mark.run({ now, id: r.id })
      return rows.map((r) => r.id)
    })()
  }

  async recordReceipts({ receipts, now, flopsPerByte, dailyCapBytes, allowSameNetwork }: RecordReceiptsParameters): Promise<ReceiptOutcome[]> {
    const byId = this.#sql(
      `SELECT r.receiver, r.server, r.blob, r.unit_id, r.bytes, COALESCE(l.amount_flops, 0) AS credit
       FROM receipts r LEFT JOIN ledger l ON l.receipt_id = r.id WHERE r.id = ?`,
    )
    const unitInputs = this.#sql('SELECT inputs FROM units WHERE id = ?')
    const held = this.#sql(
      `SELECT EXISTS (SELECT 1 FROM leases WHERE unit_id = @unit AND device_id = @device)
           OR EXISTS (SELECT 1 FROM results WHERE unit_id = @unit AND device_id = @device) AS held`,
    )
    const blobSize = this.#sql('SELECT size FROM blobs WHERE hash = ?')
    const device = this.#sql('SELECT network FROM devices WHERE id = ?')
    const earlier = this.#sql('SELECT id FROM receipts WHERE receiver = ? AND blob = ?')
    const servedToday = this.#sql('SELECT COALESCE(SUM(bytes), 0) AS bytes FROM receipts WHERE server = ? AND day = ?')
    const insert = this.#sql(
      `INSERT INTO receipts (id, receiver, server, blob, unit_id, bytes, signed_at, signature, submitted_by, received_at, day)
       VALUES (@receiptId, @receiver, @server, @blob, @unitId, @bytes, @signedAt, @signature, @submittedBy, @now, @day)`,
    )
    const credit = this.#sql(
      `INSERT INTO ledger (device_id, kind, receipt_id, amount_flops, created_at) VALUES (?, 'bandwidth', ?, ?, ?)`,
    )
    const day = Math.floor(now / 86_400_000)
    return this.#durable(this.#db.transaction(() =>
      receipts.map((r): ReceiptOutcome => {
        const refused = (reason: string): ReceiptOutcome => ({ kind: 'refused', reason })
        const seen = byId.get(r.receiptId) as
          | { receiver: string; server: string; blob: string; unit_id: string; bytes: number; credit: number }
          | undefined
        if (seen) {
          const same = seen.receiver === r.receiver && seen.server === r.server && seen.blob === r.blob && seen.unit_id === r.unitId && seen.bytes === r.bytes
          return same
            ? { kind: 'duplicate', creditFlops: seen.credit }
            : refused(`receipt id ${r.receiptId} was already used for another receipt; choose a new id for a new receipt`)
        }
        const unit = unitInputs.get(r.unitId) as { inputs: string } | undefined
        if (!unit) return refused(`unit ${r.unitId} does not exist`)
        if (!(JSON.parse(unit.inputs) as string[]).includes(r.blob)) return refused(`unit ${r.unitId} does not read blob ${r.blob}`)
        if (!(held.get({ unit: r.unitId, device: r.receiver }) as { held: number }).held) {
          return refused(`the receiver never leased unit ${r.unitId}`)
        }
        const blob = blobSize.get(r.blob) as { size: number } | undefined
        if (!blob) return refused(`blob ${r.blob} is not stored on this hub`)
        if (blob.size !== r.bytes) return refused(`bytes is ${r.bytes}, but blob ${r.blob} is ${blob.size} bytes`)
        const server = device.get(r.server) as { network: string | null } | undefined
        if (!server) return refused(`the server ${r.server} is not a known device (it has never called the hub)`)
        if (!allowSameNetwork) {
          const receiver = device.get(r.receiver) as { network: string | null } | undefined
          if (!receiver?.network || !server.network) {
            return refused('the hub does not know from which networks the receiver and the server call, so it cannot tell they are independent')
          }
          if (receiver.network === server.network) {
            return refused('the receiver and the server call the hub from the same network; only serving independent volunteers earns credit')
          }
        }
        const prior = earlier.get(r.receiver, r.blob) as { id: string } | undefined
        if (prior) return refused(`the receiver already has a credited receipt (${prior.id}) for blob ${r.blob}; one per receiver and blob`)
        const served = (servedToday.get(r.server, day) as { bytes: number }).bytes
        if (served + r.bytes > dailyCapBytes) {
          return refused(
            `the server was credited for ${served} bytes today (UTC); ${r.bytes} more would pass the daily cap of ${dailyCapBytes} bytes`,
          )
        }
        const creditFlops = r.bytes * flopsPerByte
        insert.run({ ...r, now, day })
        credit.run(r.server, r.receiptId, creditFlops, now)
        return { kind: 'credited', creditFlops }
      }),
    ))
  }

  async deviceSummary(deviceId: string): Promise<DeviceSummary> {
    const summary: DeviceSummary = {
      returned: 0,
      valid: 0,
      invalid: 0,
      creditFlops: 0,
      crediting: 0,
      bandwidth: { servedBytes: 0, creditFlops: 0 },
    }
    const rows = this.#sql('SELECT state, COUNT(*) AS n FROM results WHERE device_id = ? GROUP BY state')
      .all(deviceId) as { state: ResultState; n: number }[]
    for (const r of rows) summary[r.state] = r.n
    const credit = this.#sql('SELECT COALESCE(SUM(amount_flops), 0) AS total FROM ledger WHERE device_id = ?').get(deviceId) as {
      total: number
    }
    summary.creditFlops = credit.total
    const crediting = this.#sql(`SELECT COUNT(*) AS n FROM results WHERE device_id = ? AND state = 'valid' AND credited_at IS NULL`)
      .get(deviceId) as { n: number }
    summary.crediting = crediting.n
    const served = this.#sql('SELECT COALESCE(SUM(bytes), 0) AS bytes FROM receipts WHERE server = ?').get(deviceId) as { bytes: number }
    const earned = this.#sql(`SELECT COALESCE(SUM(amount_flops), 0) AS total FROM ledger WHERE device_id = ? AND kind = 'bandwidth'`)
      .get(deviceId) as { total: number }
    summary.bandwidth = { servedBytes: served.bytes, creditFlops: earned.total }
    return summary
  }

  async deviceResults(deviceId: string, limit: number): Promise<DeviceResultRecord[]> {
    const rows = this.#sql(
        `SELECT r.id, r.unit_id, u.job_id, j.workload, r.state, r.reason, COALESCE(l.amount_flops, 0) AS credit,
                r.backend, r.elapsed_ms, r.received_at, r.validated_at
         FROM results r JOIN units u ON u.id = r.unit_id JOIN jobs j ON j.id = u.job_id
         LEFT JOIN ledger l ON l.result_id = r.id
         WHERE r.device_id = ? ORDER BY r.received_at DESC, r.rowid DESC LIMIT ?`,
      )
      .all(deviceId, limit) as {
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
    }[]
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
    const rows = this.#sql(
        `SELECT * FROM (SELECT seq, device_id, kind, result_id, receipt_id, amount_flops, created_at FROM ledger
         WHERE device_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
      )
      .all(deviceId, limit) as {
      seq: number
      device_id: string
      kind: LedgerKind
      result_id: string | null
      receipt_id: string | null
      amount_flops: number
      created_at: number
    }[]
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
    const rows = this.#sql(
        `SELECT r.partner, COUNT(*) AS units, SUM(l.amount_flops) AS credit, COUNT(DISTINCT r.device_id) AS devices
         FROM results r JOIN ledger l ON l.result_id = r.id
         WHERE r.partner IS NOT NULL GROUP BY r.partner ORDER BY credit DESC, r.partner`,
      )
      .all() as { partner: string; units: number; credit: number; devices: number }[]
    return rows.map((r) => ({ partner: r.partner, units: r.units, creditFlops: r.credit, devices: r.devices }))
  }

  async unitStates(): Promise<Record<UnitState, number>> {
    const rows = this.#sql(`SELECT state, COUNT(*) AS n FROM units GROUP BY state`).all() as { state: UnitState; n: number }[]
    const states: Record<UnitState, number> = { unsent: 0, leased: 0, returned: 0, done: 0 }
    for (const row of rows) states[row.state] = row.n
    return states
  }

  async counts(): Promise<StoreCounts> {
    return this.#sql(
        `SELECT (SELECT COUNT(*) FROM jobs) AS jobs, (SELECT COUNT(*) FROM units) AS units,
                (SELECT COUNT(*) FROM leases) AS leases, (SELECT COUNT(*) FROM results) AS results,
                (SELECT COUNT(*) FROM ledger) AS ledger, (SELECT COUNT(*) FROM devices) AS devices,
                (SELECT COUNT(*) FROM blobs) AS blobs, (SELECT COUNT(*) FROM receipts) AS receipts`,
      )
      .get() as StoreCounts
  }
}
