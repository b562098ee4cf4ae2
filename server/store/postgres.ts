/**
 * The store on Postgres (node-postgres), for several hub processes sharing one database. Same interface and semantics as
 * `sqlite.ts` (the reference: its comments explain the rules), method by method, with every SQL text of this engine in
 * this file. What differs, and why:
 * - Every multi-statement operation runs in ONE transaction on a pooled client (`#transaction`), retried a few times
 *   on a serialization failure or deadlock (SQLSTATE 40001, 40P01). Commits use the server's default
 *   `synchronous_commit = on`: nothing is acknowledged before it is durable.
 * - Several hubs run the same operations at once, so each operation locks the rows it decides on (always in id order,
 *   so two hubs never wait on each other in a cycle) or leans on a unique constraint: leasing picks units with
 *   `FOR UPDATE OF u SKIP LOCKED`, re-checks the replica rules on the locked units with a fresh snapshot, and settles them
 *   while locked, so two hubs never fill one replica slot twice; results lock their units; verdicts lock their results,
 *   units and devices; ledger rows lock their results; receipts lock their servers' device rows (the daily cap is per
 *   server). One consequence SQLite does not have: a unit whose row the validator or ingest holds at that instant is
 *   passed over by a lease, which then takes a later unit (its replica goes out on a later lease).
 * - Batches are few round trips: arrays go in as one parameter each and come out of `unnest`, and result outputs go
 *   as binary parameters of one multi-row INSERT.
 */
import pg from 'pg'
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
// What both engines tell a volunteer (rejections, decision texts) and the quota rule, from one module.
import { notLeased, quorumDecision, quotaHalved, quotaOf, reusedResultId, secondResult, unknownUnit } from './decisions.ts'

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
  // 2: replicas and quorum, independence, reputation, quotas, known-answer units, the decision log (SQLite's 5, issue 7).
  /* sql */ `
  ALTER TABLE units ADD COLUMN quorum integer NOT NULL DEFAULT 1;
  ALTER TABLE units ADD COLUMN wanted integer NOT NULL DEFAULT 1;
  ALTER TABLE units ADD COLUMN max_results integer NOT NULL DEFAULT 8;
  ALTER TABLE units ADD COLUMN known_answer boolean NOT NULL DEFAULT false;
  ALTER TABLE units ADD COLUMN error text;
  -- Expired leases are found through leases_live now; units keep a deadline only as a summary of their live leases.
  DROP INDEX units_leased;

  -- A lease is live until its result comes (returned) or its deadline passes (expired). network and wallet are the
  -- device's when it leased: replicas of a unit never share a device, a wallet, or (by default) a network.
  ALTER TABLE leases ADD COLUMN state text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'returned', 'expired'));
  ALTER TABLE leases ADD COLUMN network text;
  ALTER TABLE leases ADD COLUMN wallet text;
  UPDATE leases l SET state = 'returned' WHERE EXISTS (SELECT 1 FROM results r WHERE r.unit_id = l.unit_id AND r.device_id = l.device_id);
  UPDATE leases l SET state = 'expired' WHERE state = 'live' AND NOT EXISTS
    (SELECT 1 FROM units u WHERE u.id = l.unit_id AND u.state = 'leased' AND u.lease_device = l.device_id);
  CREATE INDEX leases_live ON leases (deadline) WHERE state = 'live';

  -- A result that passed its own check and waits for its replicas to agree.
  ALTER TABLE results ADD COLUMN checked boolean NOT NULL DEFAULT false;
  CREATE INDEX results_quorum ON results (unit_id) WHERE state = 'returned' AND checked;
  DROP INDEX results_returned;
  CREATE INDEX results_returned ON results (received_at) WHERE state = 'returned' AND NOT checked;

  -- Reputation: consecutive valid results per device and workload version.
  CREATE TABLE reputation (
    device_id text NOT NULL,
    workload text NOT NULL,
    version integer NOT NULL,
    streak integer NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, workload, version)
  );
  -- Daily quota: the hub's default halved quota_shift times (each invalid result adds one, each valid one takes one
  -- away); units leased on quota_day; measured speed (flops per ms from lease to result).
  ALTER TABLE devices ADD COLUMN quota_shift integer NOT NULL DEFAULT 0;
  ALTER TABLE devices ADD COLUMN quota_day integer;
  ALTER TABLE devices ADD COLUMN leased_today integer NOT NULL DEFAULT 0;
  ALTER TABLE devices ADD COLUMN flops_per_ms double precision;

  -- Every decision about a device's leases, results and credit, so the hub can say why a result earned nothing.
  CREATE TABLE decisions (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL,
    device_id text,
    unit_id text,
    result_id text,
    kind text NOT NULL,
    message text NOT NULL
  );
  CREATE INDEX decisions_device ON decisions (device_id, seq);
  CREATE INDEX decisions_result ON decisions (result_id) WHERE result_id IS NOT NULL;
  `,
  // 3: completeJobs asks whether a job has a unit not done; without this index it read every unit of every open job on
  // each pass of the credit loop (16,384 per pass in the hub bench, its busiest statement).
  /* sql */ `
  CREATE INDEX units_open ON units (job_id) WHERE state != 'done';
  `,
  // 4: leasing, expiry and settling as functions on the server. A lease was seven round trips (BEGIN, expire and lock
  // the device, pick, re-check, write, settle, COMMIT), each waiting on the hub's event loop (10-40 ms with 1,000
  // volunteers on 2 cores) while the lease held its picked units' row locks; every other lease then passed over those
  // locked rows (300-550 a pick in the hub bench: 80 % of the server's statement time). As one statement (autocommit)
  // the locks last as long as the server's own work. Same rules and order as the code it replaces (see leaseUnits).
  /* sql */ `
  -- SETTLE_UNITS: recomputes each unit's state from its live leases and its results that are not invalid. A lease
  -- passes the units it leased (p_leased: one more attempt) and those it sends out unreplicated (p_unreplicated: one
  -- result wanted), so each unit row is written once per lease. PL/pgSQL keeps the statement's plan for the session.
  CREATE FUNCTION meshwork_settle_units(ids text[], p_leased text[] DEFAULT '{}', p_unreplicated text[] DEFAULT '{}')
    RETURNS void LANGUAGE plpgsql AS $fn$
  BEGIN
    UPDATE units u SET state = CASE
        WHEN u.state = 'done' THEN 'done'
        WHEN s.live + s.kept < s.wanted THEN 'unsent'
        WHEN s.live > 0 THEN 'leased'
        ELSE 'returned' END,
      lease_device = s.lease_device,
      deadline = s.deadline,
      attempts = u.attempts + s.leased,
      wanted = s.wanted
    FROM (SELECT t.id, l.live, l.lease_device, l.deadline, r.kept, CASE WHEN t.id = ANY (p_leased) THEN 1 ELSE 0 END AS leased,
        CASE WHEN t.id = ANY (p_unreplicated) THEN 1 ELSE w.wanted END AS wanted
      FROM unnest(ids) AS t (id)
      JOIN units w ON w.id = t.id
      CROSS JOIN LATERAL (SELECT COUNT(*) FILTER (WHERE state = 'live') AS live, MAX(deadline) FILTER (WHERE state = 'live') AS deadline,
          (array_agg(device_id ORDER BY deadline DESC, id DESC) FILTER (WHERE state = 'live'))[1] AS lease_device
        FROM leases WHERE unit_id = t.id) AS l
      CROSS JOIN LATERAL (SELECT COUNT(*) FILTER (WHERE state != 'invalid') AS kept FROM results WHERE unit_id = t.id) AS r) AS s
    WHERE u.id = s.id;
  END
  $fn$;

  -- Marks live leases past their deadline expired and settles their units; returns how many leases. The units are
  -- locked first (in id order, SKIP LOCKED): a lease changes only while its unit's row is locked, and a unit another
  -- hub holds right now is left for the next pass.
  CREATE FUNCTION meshwork_expire_leases(p_now bigint) RETURNS integer LANGUAGE plpgsql AS $fn$
  DECLARE
    v_units text[];
    v_count integer;
  BEGIN
    WITH locked AS (
      SELECT u.id FROM units u WHERE u.id IN (SELECT l.unit_id FROM leases l WHERE l.state = 'live' AND l.deadline < p_now)
      ORDER BY u.id FOR UPDATE SKIP LOCKED
    ), expired AS (
      UPDATE leases l SET state = 'expired' FROM locked WHERE l.unit_id = locked.id AND l.state = 'live' AND l.deadline < p_now
      RETURNING l.unit_id
    )
    SELECT COUNT(*), array_agg(DISTINCT unit_id) INTO v_count, v_units FROM expired;
    IF v_count > 0 THEN
      PERFORM meshwork_settle_units(v_units);
    END IF;
    RETURN v_count;
  END
  $fn$;

  -- One device's lease (leaseUnits' parameters; p_trust_streak null without trust, p_randoms one draw per unit asked
  -- for), inside meshwork_lease_many's transaction. Returns the leased units as the store reads them. Its statements'
  -- plans are kept for the session (planning each one on every lease cost more than running it); none of them depends
  -- on how full a table is: every check probes one unit's rows by index (see the pick).
  CREATE FUNCTION meshwork_lease_units(p_device text, p_now bigint, p_max integer, p_deadline bigint, p_min_lease_ms double precision,
      p_partner text, p_independent_networks boolean, p_daily_quota integer, p_trust_streak integer, p_randoms double precision[])
    RETURNS TABLE (id text, job_id text, idx integer, workload text, version integer, state text, spec json, inputs json,
      cost_flops double precision, lease_device text, deadline bigint, attempts integer, canonical_result text, quorum integer,
      wanted integer, known_answer boolean, error text)
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
  #variable_conflict use_column
  DECLARE
    v_found boolean;
    v_network text;
    v_shift integer;
    v_quota_day integer;
    v_leased_today integer;
    v_speed double precision;
    v_wallet text;
    v_independent_network text;
    v_day integer := floor(p_now / 86400000.0)::integer;
    v_left integer;
    v_picked text[];
    v_draw integer := 0;
    v_ids text[] := '{}';
    v_deadlines bigint[] := '{}';
    v_unreplicated text[] := '{}';
    r record;
  BEGIN
    -- The device's row, locked: two hubs leasing to one device take turns, so neither passes its quota.
    SELECT dv.network, dv.quota_shift, dv.quota_day, dv.leased_today, dv.flops_per_ms
      INTO v_network, v_shift, v_quota_day, v_leased_today, v_speed FROM devices dv WHERE dv.id = p_device FOR UPDATE;
    v_found := FOUND;
    v_left := greatest(1, floor(p_daily_quota / power(2::double precision, COALESCE(v_shift, 0))))::integer
      - CASE WHEN v_found AND v_quota_day = v_day THEN v_leased_today ELSE 0 END;
    IF v_left <= 0 OR p_max <= 0 THEN
      RETURN;
    END IF;
    SELECT w.address INTO v_wallet FROM device_wallets w WHERE w.device_id = p_device;
    v_independent_network := CASE WHEN p_independent_networks THEN v_network END;
    -- Pick: the unsent units in (job, index) order on units_unsent, independent of this device, its wallet and its
    -- network; a unit another transaction holds is passed over (SKIP LOCKED). OFFSET 0 keeps each check a probe of
    -- the unit's own rows (an index lookup per unit walked): as an anti-join, planned on statistics from when leases
    -- was nearly empty, it read every lease of the device's on each pick (a sequential scan of all leases).
    SELECT array_agg(p.id) INTO v_picked FROM (
      SELECT u.id FROM units u
      WHERE u.state = 'unsent'
        AND NOT EXISTS (SELECT 1 FROM results rs WHERE rs.unit_id = u.id AND rs.device_id = p_device OFFSET 0)
        AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.state != 'expired'
          AND (l.device_id = p_device OR l.wallet = v_wallet OR l.network = v_independent_network) OFFSET 0)
        AND (SELECT j.state FROM jobs j WHERE j.id = u.job_id) = 'open'
      ORDER BY u.job_seq, u.idx
      LIMIT least(p_max, v_left)
      FOR UPDATE OF u SKIP LOCKED) AS p;
    IF v_picked IS NULL THEN
      RETURN;
    END IF;
    -- Again with a new snapshot, now that the rows are locked: a lease or result another hub committed since the pick's
    -- snapshot is seen here (the pick's own recheck re-reads only the unit row).
    FOR r IN
      SELECT u.id, u.job_id, u.idx, j.workload, j.version, u.spec, u.inputs, u.cost_flops, u.attempts, u.canonical_result,
        u.quorum, u.wanted, u.known_answer, u.error,
        NOT EXISTS (SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.state != 'expired')
          AND NOT EXISTS (SELECT 1 FROM results rs WHERE rs.unit_id = u.id) AS alone,
        COALESCE((SELECT p.streak FROM reputation p WHERE p.device_id = p_device AND p.workload = j.workload AND p.version = j.version), 0) AS streak
      FROM units u JOIN jobs j ON j.id = u.job_id
      WHERE u.id = ANY (v_picked) AND j.state = 'open' AND u.state = 'unsent'
        AND NOT EXISTS (SELECT 1 FROM results rs WHERE rs.unit_id = u.id AND rs.device_id = p_device)
        AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.state != 'expired'
          AND (l.device_id = p_device OR l.wallet = v_wallet OR l.network = v_independent_network))
      ORDER BY u.job_seq, u.idx
    LOOP
      id := r.id; job_id := r.job_id; idx := r.idx; workload := r.workload; version := r.version; state := 'leased';
      spec := r.spec; inputs := r.inputs; cost_flops := r.cost_flops; lease_device := p_device; attempts := r.attempts + 1;
      canonical_result := r.canonical_result; quorum := r.quorum; wanted := r.wanted; known_answer := r.known_answer;
      error := r.error;
      -- Adaptive replication: a trusted device may get a replicated unit alone when no one else has it yet, with a
      -- probability of 1 - p_trust_streak / streak (at most 0.95).
      IF p_trust_streak IS NOT NULL AND r.quorum > 1 AND r.wanted > 1 AND NOT r.known_answer AND r.alone
          AND r.streak >= p_trust_streak AND r.streak > 0 THEN
        v_draw := v_draw + 1;
        IF p_randoms[v_draw] < least(0.95, 1 - p_trust_streak::double precision / r.streak) THEN
          v_unreplicated := v_unreplicated || r.id;
          wanted := 1;
        END IF;
      END IF;
      -- Three times the unit's cost at the device's measured speed, plus 30 s; p_deadline at most.
      deadline := CASE WHEN v_speed IS NOT NULL AND v_speed <> 0
        THEN floor(least(p_deadline, p_now + greatest(p_min_lease_ms, 3 * r.cost_flops / v_speed + 30000)))::bigint
        ELSE p_deadline END;
      v_ids := v_ids || r.id;
      v_deadlines := v_deadlines || deadline;
      RETURN NEXT;
    END LOOP;
    IF cardinality(v_ids) = 0 THEN
      RETURN;
    END IF;
    -- The leases and the device's quota in one statement; then the units (attempts, wanted, state) in another, which
    -- sees the leases just written.
    WITH remembered AS (
      INSERT INTO leases (unit_id, device_id, leased_at, deadline, partner, network, wallet)
      SELECT l.unit_id, p_device, p_now, l.deadline, p_partner, v_network, v_wallet
      FROM unnest(v_ids, v_deadlines) WITH ORDINALITY AS l (unit_id, deadline, ord) ORDER BY l.ord
    )
    UPDATE devices dv SET quota_day = v_day,
      leased_today = CASE WHEN dv.quota_day = v_day THEN dv.leased_today ELSE 0 END + cardinality(v_ids)
    WHERE dv.id = p_device;
    PERFORM meshwork_settle_units(v_ids, v_ids, v_unreplicated);
  END
  $fn$;

  -- Several devices' leases in one transaction (leaseUnits gathers the requests that wait): request i leases for
  -- p_devices[i] at most p_max[i] units at p_now[i], with deadline p_deadline[i], partner p_partner[i], and draws
  -- p_randoms[p_draws[i] + 1 .. p_draws[i] + p_max[i]]. Overdue leases are expired first, once. Returns each unit with
  -- the number of its request. The caller orders the requests by device id, so two hubs lock devices in one order.
  -- Commits without waiting for the WAL flush: a lost lease is issued again, never an acknowledged result.
  CREATE FUNCTION meshwork_lease_many(p_devices text[], p_max integer[], p_now bigint[], p_deadline bigint[], p_partner text[],
      p_draws integer[], p_randoms double precision[], p_min_lease_ms double precision, p_independent_networks boolean,
      p_daily_quota integer, p_trust_streak integer)
    RETURNS TABLE (request integer, id text, job_id text, idx integer, workload text, version integer, state text, spec json,
      inputs json, cost_flops double precision, lease_device text, deadline bigint, attempts integer, canonical_result text,
      quorum integer, wanted integer, known_answer boolean, error text)
    LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM meshwork_expire_leases((SELECT max(n) FROM unnest(p_now) AS n));
    FOR i IN 1 .. cardinality(p_devices) LOOP
      RETURN QUERY SELECT i, l.* FROM meshwork_lease_units(p_devices[i], p_now[i], p_max[i], p_deadline[i], p_min_lease_ms,
        p_partner[i], p_independent_networks, p_daily_quota, p_trust_streak,
        p_randoms[p_draws[i] + 1 : p_draws[i] + p_max[i]]) AS l;
    END LOOP;
  END
  $fn$;
  `,
  // 5: the validator's and the credit loop's reads take the oldest results waiting, ORDER BY (time, seq) LIMIT n. On an
  // index of the time alone the planner sorted every waiting row (each with its output, joined to its unit) to return
  // the first 512: 200 to 900 ms a pass in the hub bench once verification fell behind, so it fell further behind.
  // With seq in the index the walk returns rows in order and stops at the limit.
  /* sql */ `
  DROP INDEX results_returned;
  CREATE INDEX results_returned ON results (received_at, seq) WHERE state = 'returned' AND NOT checked;
  DROP INDEX results_uncredited;
  CREATE INDEX results_uncredited ON results (validated_at, seq) WHERE state = 'valid' AND credited_at IS NULL;
  `,
  // 6: a job's progress (GET /jobs/:id, polled by owners' dashboards) counted its units by state with a scan of every
  // unit of every job (100-200 ms a call in the hub bench, and growing with the database's history). A job's unit count
  // is fixed when it is created, so it is kept on the job; only its units not yet done are counted (units_open) and
  // those with an error (units_error, rare), and done is the rest.
  /* sql */ `
  ALTER TABLE jobs ADD COLUMN unit_count integer;
  UPDATE jobs j SET unit_count = (SELECT COUNT(*) FROM units u WHERE u.job_id = j.id);
  ALTER TABLE jobs ALTER COLUMN unit_count SET NOT NULL;
  CREATE INDEX units_error ON units (job_id) WHERE error IS NOT NULL;
  `,
]

/** Key of the advisory lock taken while migrating, so two hubs starting at once do not both migrate. */
const MIGRATION_LOCK = 0x6d657368 // "mesh"

/** A job with at least this many units refreshes the planner's statistics of the units table. */
const ANALYZE_AFTER_UNITS = 1000

/**
 * How stale a device's last_seen may be before storing its results writes it again: the hub writes it on a request at
 * most once a minute too (hub.ts, DEVICE_TOUCH_INTERVAL_MS). Nothing decides on it; it tells an operator who is active.
 * Exported for the bench's pgbench, which runs the same statement.
 */
export const LAST_SEEN_SLACK_MS = 60_000

/** Most lease requests in one group (see #startLeases). */
const MAX_LEASE_GROUP = 32

interface WaitingLease {
  params: LeaseUnitsParameters
  /** Units asked for (at least 0, whole). */
  count: number
  randoms: number[]
  resolve: (units: UnitRecord[]) => void
  reject: (error: unknown) => void
}

/** The settings a group of leases shares (one value each in meshwork_lease_many). */
function leaseSettingsKey({ minLeaseMs = 60_000, independentNetworks = true, dailyQuota = 10_000, trust }: LeaseUnitsParameters): string {
  return `${minLeaseMs}/${independentNetworks}/${dailyQuota}/${trust?.minStreak ?? ''}`
}

/** Attempts of one transaction when Postgres reports a serialization failure or a deadlock. */
const MAX_ATTEMPTS = 5

/** SQLSTATEs after which the whole transaction is run again: serialization_failure, deadlock_detected. */
const RETRY_CODES: ReadonlySet<string> = new Set(['40001', '40P01'])

/** unique_violation: another hub inserted the same key in the same instant; the retry sees its row. */
const UNIQUE_VIOLATION = '23505'

/** Whether attempt `attempt`, which failed with `error`, is run again (`retryUnique`: after a unique violation too). */
function tryAgain(error: unknown, attempt: number, retryUnique = false): boolean {
  const code = sqlState(error)
  return attempt < MAX_ATTEMPTS && code !== undefined && (RETRY_CODES.has(code) || (retryUnique && code === UNIQUE_VIOLATION))
}

/** A short random pause before the next attempt, longer after each failure. */
const pauseBeforeAttempt = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt))

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
  unit_count: number
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
  quorum: number
  wanted: number
  known_answer: boolean
  error: string | null
}

const UNIT_COLUMNS = /* sql */ `u.id, u.job_id, u.idx, j.workload, j.version, u.state, u.spec, u.inputs, u.cost_flops,
  u.lease_device, u.deadline, u.attempts, u.canonical_result, u.quorum, u.wanted, u.known_answer, u.error`

/** insertResults' writes (see there): results in arrival order, their leases returned, their devices seen. */
const STORE_RESULTS = /* sql */ `WITH stored AS (
    INSERT INTO results (id, unit_id, device_id, state, output, backend, elapsed_ms, received_at, partner)
    SELECT r.id, r.unit_id, r.device_id, 'returned', substring($4::bytea FROM r.start FOR r.size), r.backend, r.elapsed_ms, r.received_at, r.partner
    FROM unnest($1::text[], $2::text[], $3::text[], $5::int[], $6::int[], $7::text[], $8::bigint[], $9::bigint[], $10::text[])
      WITH ORDINALITY AS r (id, unit_id, device_id, start, size, backend, elapsed_ms, received_at, partner, n)
    ORDER BY r.n
  ), returned AS (
    UPDATE leases l SET state = 'returned' FROM unnest($2::text[], $3::text[]) AS p (unit_id, device_id)
    WHERE l.unit_id = p.unit_id AND l.device_id = p.device_id AND l.state != 'returned'
  )
  INSERT INTO devices (id, first_seen, last_seen) SELECT * FROM unnest($11::text[], $12::bigint[], $13::bigint[]) AS t (id, first_seen, last_seen)
  WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = t.id AND d.last_seen >= t.last_seen - ${LAST_SEEN_SLACK_MS})
  ON CONFLICT (id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen)`

/**
 * SQLite's SETTLE_UNIT over a set of units ($1, text[]): recomputes each unit's state from its leases and results
 * (meshwork_settle_units, migration 4). Done stays done; fewer live leases plus results that are not invalid than
 * `wanted` -> unsent (more replicas to issue); a live lease left -> leased; else returned. Callers hold the units' row
 * locks (or this statement takes them), so two hubs settle one unit one after the other, each seeing the other's leases
 * and results. Each unit's leases and results are read once, through their unit_id indexes only, with the states
 * filtered in the aggregates: a `state = 'live'` condition let a generic plan (made while leases was nearly empty) AND
 * the unit's index with leases_live, reading every live lease for each unit.
 */
const SETTLE_UNITS = /* sql */ `SELECT meshwork_settle_units($1::text[])`

const utcDay = (now: number) => Math.floor(now / 86_400_000)

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
    quorum: row.quorum,
    wanted: row.wanted,
    knownAnswer: row.known_answer,
    error: row.error,
  }
}

/**
 * Appends decision-log entries given as the six arrays of `decisionColumns`, from parameter $`first` on, in the given
 * order (seq is the log's order).
 */
const INSERT_DECISIONS = (first: number) => /* sql */ `INSERT INTO decisions (at, device_id, unit_id, result_id, kind, message)
  SELECT d.at, d.device_id, d.unit_id, d.result_id, d.kind, d.message
  FROM unnest($${first}::bigint[], $${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[], $${first + 4}::text[], $${first + 5}::text[])
    WITH ORDINALITY AS d (at, device_id, unit_id, result_id, kind, message, ord)
  ORDER BY d.ord`

function decisionColumns(decisions: Decision[]): unknown[] {
  return [
    decisions.map((d) => d.at),
    decisions.map((d) => d.deviceId),
    decisions.map((d) => d.unitId),
    decisions.map((d) => d.resultId),
    decisions.map((d) => d.kind),
    decisions.map((d) => d.message),
  ]
}

function emptyCounts(): UnitCounts {
  return { total: 0, unsent: 0, leased: 0, returned: 0, done: 0, error: 0 }
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

/** A client of the pool, or the pool itself, to run one query on. */
type Queryable = pg.Pool | pg.PoolClient

/**
 * Connections a hub holds open by default for its requests (its loops have LOOP_CONNECTIONS more). Few on purpose: a
 * lease group takes one, the ingest at most MAX_CONCURRENT_BATCHES (server/ingest.ts), and every other statement is
 * short. With 1,000 volunteers on 2 cores, 32 connections cost the server 0.47 ms of CPU a unit and 4 cost 0.36 to
 * 0.41 (alternated runs, the ingest's concurrency at 2 in both: 1,823 and 1,863 against 2,266 units/s; the bench's
 * hub reached 1,980 and 2,053 with 4 against 1,398 and 1,464 with 32 and the ingest at 8): work spread over many
 * backends runs each with cold caches.
 */
export const DEFAULT_MAX_CONNECTIONS: number = 4

export interface PostgresStoreOptions {
  /** Most connections this hub holds open for its requests. @default DEFAULT_MAX_CONNECTIONS (4) */
  maxConnections?: number
}

/**
 * Settings of the hub's sessions. JIT off: the server compiles a statement whose estimated cost passes jit_above_cost,
 * and the lease pick (a LIMIT over a walk the planner prices by the whole index) took 10 ms to compile for well under
 * 1 ms of work, on every lease. No statement here runs long enough to win it back. (`options` in DATABASE_URL replaces
 * this.) Exported for the bench's pgbench, which runs the hub's transactions with the hub's settings.
 */
export const SESSION_OPTIONS = '-c jit=off'

/**
 * Opens the store on the Postgres database at `url` (`postgres://user:password@host:5432/database`) and runs pending
 * migrations under an advisory lock.
 */
export async function openPostgresStore(url: string, { maxConnections = DEFAULT_MAX_CONNECTIONS }: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const open = (max: number, name: string) => {
    const pool = new pg.Pool({ connectionString: url, max, types: TYPES, application_name: name, options: SESSION_OPTIONS })
    // A connection that dies while idle is dropped from the pool; the next query opens a new one. Without a listener
    // the pool's 'error' event would crash the hub.
    pool.on('error', () => {})
    return pool
  }
  const pool = open(maxConnections, 'meshwork-hub')
  const loops = open(LOOP_CONNECTIONS, 'meshwork-hub-loops')
  const store = new PostgresStore(pool, loops)
  try {
    await store.migrate()
  } catch (error) {
    await store.close()
    throw error
  }
  return store
}

/**
 * Connections of the hub's background loops (validator, credit, lease expiry), apart from the requests' pool: their
 * passes never wait for a connection behind request traffic (with 1,000 volunteers the requests' pool had 20 to 112
 * queries waiting at times, and the validator's read waited with them).
 */
const LOOP_CONNECTIONS = 4

/** The `Store` over a node-postgres pool; use `openPostgresStore` to create one. */
export class PostgresStore implements Store {
  readonly kind = 'postgres'
  readonly commitsInCallOrder = false
  readonly #pool: pg.Pool
  /** The background loops' connections (LOOP_CONNECTIONS). */
  readonly #loops: pg.Pool
  /** Statement names by SQL text: each fixed text is parsed and planned once per connection. */
  readonly #names = new Map<string, string>()
  #closed = false
  /** Lease requests waiting for the next group, and whether a group is being leased (see #startLeases). */
  #leasesWaiting: WaitingLease[] = []
  #leaseGroupRunning = false

  constructor(pool: pg.Pool, loops: pg.Pool) {
    this.#pool = pool
    this.#loops = loops
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
  async #query<R extends pg.QueryResultRow>(on: Queryable, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
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
   * start, up to MAX_ATTEMPTS times, after a short random pause. `synchronous: false` is for bookkeeping the hub never
   * acknowledges as stored (leases, verdicts, credit): its COMMIT does not wait for the WAL flush (SQLite's
   * synchronous=NORMAL, see sqlite.ts); a power cut may lose it, never an acknowledged result, and the WAL stays in
   * order, so the next synchronous commit flushes it too.
   */
  async #transaction<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    { retryUnique = false, synchronous = true, loop = false }: { retryUnique?: boolean; synchronous?: boolean; loop?: boolean } = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await (loop ? this.#loops : this.#pool).connect()
      let broken: Error | undefined
      try {
        // One round trip for both (a simple query may hold several statements).
        await client.query(synchronous ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off')
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
        if (!tryAgain(error, attempt, retryUnique) || broken) throw error
      } finally {
        client.release(broken)
      }
      await pauseBeforeAttempt(attempt)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([this.#pool.end(), this.#loops.end()])
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
        `INSERT INTO jobs (id, workload, version, label, state, params, demo, created_at, unit_count)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8) RETURNING seq`,
        [job.id, job.workload, job.version, job.label, JSON.stringify(job.params), job.demo, job.createdAt, units.length],
      )
      // All units in one statement (a job may have 16,384).
      await this.#query(
        c,
        `INSERT INTO units (id, job_id, job_seq, idx, state, cost_flops, spec, inputs, quorum, wanted, max_results, known_answer)
         SELECT u.id, $1, $2, u.idx, 'unsent', u.cost_flops, u.spec::json, u.inputs::json, u.quorum, u.wanted, u.max_results, u.known_answer
         FROM unnest($3::text[], $4::int[], $5::float8[], $6::text[], $7::text[], $8::int[], $9::int[], $10::int[], $11::bool[])
           AS u (id, idx, cost_flops, spec, inputs, quorum, wanted, max_results, known_answer)`,
        [
          job.id,
          seq,
          units.map((u) => u.id),
          units.map((u) => u.index),
          units.map((u) => u.costFlops),
          units.map((u) => JSON.stringify(u.spec)),
          units.map((u) => JSON.stringify(u.inputs)),
          units.map((u) => u.quorum ?? 1),
          // A known-answer unit needs one result: the hub checks it against the answer it computes.
          units.map((u) => (u.knownAnswer ? 1 : (u.quorum ?? 1))),
          units.map((u) => u.maxResults ?? 8),
          units.map((u) => u.knownAnswer === true),
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
      `SELECT id, workload, version, label, state, params, demo, created_at, completed_at, unit_count FROM jobs ${where} ${tail}`,
      params,
    )
    if (rows.length === 0) return []
    // Done is what is left of the job's units (migration 6): the walk covers only its open units and its errors.
    const counts = new Map<string, UnitCounts>(rows.map((r) => [r.id, { ...emptyCounts(), total: r.unit_count, done: r.unit_count }]))
    const countRows = await this.#rows<{ job_id: string; state: UnitState | null; n: number }>(
      this.#pool,
      `SELECT job_id, state, COUNT(*) AS n FROM units WHERE job_id = ANY($1::text[]) AND state != 'done' GROUP BY job_id, state
       UNION ALL SELECT job_id, NULL, COUNT(*) FROM units WHERE job_id = ANY($1::text[]) AND error IS NOT NULL GROUP BY job_id`,
      [rows.map((r) => r.id)],
    )
    for (const c of countRows) {
      const counts1 = counts.get(c.job_id)!
      if (c.state === null) {
        counts1.error += c.n
      } else {
        counts1[c.state] += c.n
        counts1.done -= c.n
      }
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

  async getUnits(ids: readonly string[]): Promise<Map<string, UnitRecord>> {
    if (ids.length === 0) return new Map()
    const rows = await this.#rows<UnitRow>(this.#pool, `SELECT ${UNIT_COLUMNS} FROM units u JOIN jobs j ON j.id = u.job_id WHERE u.id = ANY($1::text[])`, [
      [...new Set(ids)],
    ])
    return new Map(rows.map((row) => [row.id, toUnit(row)]))
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

  leaseUnits(params: LeaseUnitsParameters): Promise<UnitRecord[]> {
    const count = Math.max(0, Math.floor(params.max))
    return new Promise((resolve, reject) => {
      this.#leasesWaiting.push({
        params,
        count,
        // One draw per unit asked for, used in order by the units that may go out unreplicated.
        randoms: params.trust ? Array.from({ length: count }, () => params.trust!.random()) : [],
        resolve,
        reject,
      })
      this.#startLeases()
    })
  }

  /**
   * Leases run in groups, one group at a time per hub: a group is every lease request waiting when the previous group
   * ended (up to MAX_LEASE_GROUP), leased in ONE statement and transaction (meshwork_lease_many, migration 4). Each
   * lease walks units_unsent from its start and passes over the units other running leases hold, and a lease driven
   * from here held its units for all its round trips (each waiting on the event loop): 32 leases at once on 2 cores
   * each passed ~400 locked rows. In a group, the server does every lease back to back, each device's as before:
   * expire overdue leases, lock the device's row (two hubs leasing to one device take turns), pick unsent units with
   * SKIP LOCKED, re-check the replica rules on the locked units with a new snapshot (a lease or result another hub
   * committed since the pick is seen), write the leases and the device's quota, settle the units.
   */
  #startLeases(): void {
    if (this.#leaseGroupRunning || this.#leasesWaiting.length === 0) return
    // Requests with other settings (never the case within one hub today) wait for a group of their own.
    const key = leaseSettingsKey(this.#leasesWaiting[0].params)
    const group: WaitingLease[] = []
    this.#leasesWaiting = this.#leasesWaiting.filter((w) => {
      if (group.length >= MAX_LEASE_GROUP || leaseSettingsKey(w.params) !== key) return true
      group.push(w)
      return false
    })
    this.#leaseGroupRunning = true
    void this.#leaseGroup(group).finally(() => {
      this.#leaseGroupRunning = false
      this.#startLeases()
    })
  }

  async #leaseGroup(group: WaitingLease[]): Promise<void> {
    // In device id order: two hubs' groups lock their devices' rows in one order, so they never wait on each other in
    // a cycle.
    const requests = [...group].sort((a, b) => (a.params.deviceId < b.params.deviceId ? -1 : a.params.deviceId > b.params.deviceId ? 1 : 0))
    const draws: number[] = []
    let drawn = 0
    for (const r of requests) {
      draws.push(drawn)
      drawn += r.randoms.length
    }
    const { minLeaseMs = 60_000, independentNetworks = true, dailyQuota = 10_000, trust } = requests[0].params
    try {
      const rows = await this.#autocommit<UnitRow & { request: number }>(
        `SELECT * FROM meshwork_lease_many($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::float8[], $8, $9, $10, $11)`,
        [
          requests.map((r) => r.params.deviceId),
          requests.map((r) => r.count),
          requests.map((r) => r.params.now),
          requests.map((r) => Math.floor(r.params.deadline)),
          requests.map((r) => r.params.partner ?? null),
          draws,
          requests.flatMap((r) => r.randoms),
          minLeaseMs,
          independentNetworks,
          dailyQuota,
          trust ? trust.minStreak : null,
        ],
      )
      const units: UnitRecord[][] = requests.map(() => [])
      for (const row of rows) units[row.request - 1].push(toUnit(row))
      requests.forEach((r, i) => r.resolve(units[i]))
    } catch (error) {
      for (const r of requests) r.reject(error)
    }
  }

  /** Runs one statement in its own transaction, again (as #transaction does) after a serialization failure or deadlock. */
  async #autocommit<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#rows<R>(this.#pool, text, values)
      } catch (error) {
        if (!tryAgain(error, attempt)) throw error
      }
      await pauseBeforeAttempt(attempt)
    }
  }

  /**
   * Marks live leases past their deadline expired and settles their units; returns how many (meshwork_expire_leases,
   * migration 4). The units are locked first (in id order, SKIP LOCKED): a lease changes only while its unit's row is
   * locked, and a unit another hub holds right now is left for the next pass (it is being leased, settled or given a
   * result). Commits without waiting for the WAL flush, like a lease.
   */
  async expireLeases(now: number): Promise<number> {
    const [row] = await this.#transaction((c) => this.#rows<{ n: number }>(c, 'SELECT meshwork_expire_leases($1) AS n', [now]), { synchronous: false, loop: true })
    return row.n
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
        // In one read: results by id and by (unit, device), and each (unit, device)'s latest lease with its partner.
        const seen = await this.#rows<{ kind: 'result' | 'lease'; id: string | null; unit_id: string; device_id: string; state: ResultState | null; partner: string | null }>(
          c,
          `SELECT 'result' AS kind, id, unit_id, device_id, state, NULL::text AS partner FROM results WHERE id = ANY($1::text[])
           UNION
           SELECT 'result', r.id, r.unit_id, r.device_id, r.state, NULL FROM results r
           JOIN unnest($2::text[], $3::text[]) AS p (unit_id, device_id) ON r.unit_id = p.unit_id AND r.device_id = p.device_id
           UNION ALL
           (SELECT DISTINCT ON (l.unit_id, l.device_id) 'lease', NULL, l.unit_id, l.device_id, NULL, l.partner
            FROM leases l JOIN unnest($2::text[], $3::text[]) AS p (unit_id, device_id) ON l.unit_id = p.unit_id AND l.device_id = p.device_id
            ORDER BY l.unit_id, l.device_id, l.id DESC)`,
          [items.map((i) => i.resultId), pairUnits, pairDevices],
        )
        const existing = seen.filter((r) => r.kind === 'result') as { id: string; unit_id: string; device_id: string; state: ResultState }[]
        const leases = seen.filter((r) => r.kind === 'lease')
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
            return reusedResultId(item.resultId)
          }
          if (!units.has(item.unitId)) return unknownUnit(item.unitId)
          const lease = latestLease.get(pair(item.unitId, item.deviceId))
          if (!lease) return notLeased(item.unitId)
          const prior = byPair.get(pair(item.unitId, item.deviceId))
          if (prior) return secondResult(prior, item.unitId)
          // Without a partner in the submission, the result keeps the partner its unit was leased through by this device.
          const row = { id: item.resultId, unit_id: item.unitId, device_id: item.deviceId, state: 'returned' as const }
          byId.set(row.id, row)
          byPair.set(pair(row.unit_id, row.device_id), row)
          accepted.push({ ...item, partner: item.partner ?? lease.partner ?? undefined })
          return { kind: 'accepted', state: 'returned' }
        })
        if (accepted.length === 0) return outcomes

        // One row per device (an upsert may touch a row once per statement), in id order against deadlocks.
        const devices = new Map<string, { first: number; last: number }>()
        for (const a of accepted) {
          const d = devices.get(a.deviceId)
          if (d) d.last = Math.max(d.last, a.receivedAt)
          else devices.set(a.deviceId, { first: a.receivedAt, last: a.receivedAt })
        }
        const ids = [...devices.keys()].sort()
        // The writes in ONE statement (each table once; none reads another's changes), not three round trips each
        // waiting on the event loop while this transaction holds its units' locks: the results; the device's lease (even
        // an expired one: a late result for an open unit counts) now has its result; the devices' last request, unless
        // their rows say they were seen within LAST_SEEN_SLACK_MS (read without a lock: the rows of devices leasing or
        // being judged are locked by those transactions, and an upsert would wait). Its text is the same for any batch
        // (columns as arrays; the outputs one binary parameter, cut by offsets), so it is prepared once per connection:
        // a multi-row VALUES list of 8 parameters a row was planned again for every batch (17 ms of planning a batch
        // of ~200 in the bench, the most planning of any statement).
        const outputs = Buffer.concat(accepted.map((a) => asBuffer(a.output)))
        const starts: number[] = []
        let offset = 1
        for (const a of accepted) {
          starts.push(offset)
          offset += a.output.byteLength
        }
        await this.#query(c, STORE_RESULTS, [
          accepted.map((a) => a.resultId),
          accepted.map((a) => a.unitId),
          accepted.map((a) => a.deviceId),
          outputs,
          starts,
          accepted.map((a) => a.output.byteLength),
          accepted.map((a) => a.backend),
          accepted.map((a) => a.elapsedMs),
          accepted.map((a) => a.receivedAt),
          accepted.map((a) => a.partner ?? null),
          ids,
          ids.map((id) => devices.get(id)!.first),
          ids.map((id) => devices.get(id)!.last),
        ])
        // Settled after: it counts the results and live leases just written.
        await this.#query(c, SETTLE_UNITS, [[...new Set(accepted.map((a) => a.unitId))]])
        return outcomes
      },
      { retryUnique: true },
    )
  }

  async pendingResults(limit: number): Promise<PendingResult[]> {
    return this.#pending(this.#loops, limit, false)
  }

  /**
   * Results waiting for the validator, oldest first. `claim`: lock them for this transaction, skipping results another
   * transaction holds (another hub's validator pass), so two passes never judge the same result.
   */
  async #pending(c: Queryable, limit: number, claim: boolean): Promise<PendingResult[]> {
    const rows = await this.#rows<{
      id: string
      unit_id: string
      device_id: string
      output: Buffer
      received_at: number
      workload: string
      spec: Record<string, unknown>
      inputs: string[]
      cost_flops: number
      quorum: number
      wanted: number
      max_results: number
      known_answer: boolean
      canonical: Buffer | null
      leased_at: number | null
    }>(
      c,
      `SELECT r.id, r.unit_id, r.device_id, r.output, r.received_at, j.workload, u.spec, u.inputs, u.cost_flops, u.quorum,
              u.wanted, u.max_results, u.known_answer, c.output AS canonical,
              (SELECT MAX(l.leased_at) FROM leases l WHERE l.unit_id = r.unit_id AND l.device_id = r.device_id) AS leased_at
       FROM results r JOIN units u ON u.id = r.unit_id JOIN jobs j ON j.id = u.job_id
       LEFT JOIN results c ON c.id = u.canonical_result
       WHERE r.state = 'returned' AND NOT r.checked ORDER BY r.received_at, r.seq LIMIT $1${claim ? ' FOR UPDATE OF r SKIP LOCKED' : ''}`,
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
      costFlops: r.cost_flops,
      quorum: r.quorum,
      wanted: r.wanted,
      maxResults: r.max_results,
      knownAnswer: r.known_answer,
      canonical: r.canonical ?? undefined,
      leasedAt: r.leased_at ?? r.received_at,
      receivedAt: r.received_at,
    }))
  }

  async validatePending(limit: number, judge: (pending: PendingResult[]) => Promise<ValidatorPass>): Promise<ValidatorPass | undefined> {
    // One transaction from the read to the verdicts: the results stay locked while they are judged (the judge's own
    // reads, such as a unit's earlier replicas, go through other connections and see only what is committed).
    return this.#transaction(
      async (c) => {
        const pending = await this.#pending(c, limit, true)
        if (pending.length === 0) return undefined
        const pass = await judge(pending)
        await this.#recordVerdicts(c, pass.verdicts, pass.now, pass.units)
        return pass
      },
      { synchronous: false, loop: true },
    )
  }

  async recordVerdicts(verdicts: ResultVerdict[], now: number, units: UnitVerdict[] = []): Promise<void> {
    if (verdicts.length === 0 && units.length === 0) return
    await this.#transaction((c) => this.#recordVerdicts(c, verdicts, now, units), { synchronous: false, loop: true })
  }

  /** recordVerdicts' work, in the transaction of `c`. */
  async #recordVerdicts(c: pg.PoolClient, verdicts: ResultVerdict[], now: number, units: UnitVerdict[]): Promise<void> {
    if (verdicts.length === 0 && units.length === 0) return
    // Lock what the verdicts decide on, each kind in id order (results, then units, then devices, as insertResults
    // takes units before devices): another hub's validator recording the same verdicts waits here, then finds the
    // results judged and changes nothing. Then SQLite's statements are replayed in memory, verdict by verdict, and
    // written back in a few set-based statements.
    const results = new Map(
      (
        await this.#rows<{ id: string; unit_id: string; device_id: string; state: ResultState; checked: boolean; reason: string | null; validated_at: number | null }>(
          c,
          'SELECT id, unit_id, device_id, state, checked, reason, validated_at FROM results WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
          [[...new Set(verdicts.map((v) => v.resultId))]],
        )
      ).map((r) => [r.id, r]),
    )
    const unitIds = [...new Set([...[...results.values()].map((r) => r.unit_id), ...units.map((u) => u.unitId)])].sort()
    const unitRows = new Map(
      (
        await this.#rows<{ id: string; state: UnitState; wanted: number; canonical_result: string | null; error: string | null; workload: string; version: number }>(
          c,
          `SELECT u.id, u.state, u.wanted, u.canonical_result, u.error, j.workload, j.version FROM units u JOIN jobs j ON j.id = u.job_id
           WHERE u.id = ANY($1::text[]) ORDER BY u.id FOR UPDATE OF u`,
          [unitIds],
        )
      ).map((u) => [u.id, u]),
    )
    // Devices with an invalid result in this batch are locked and read now: their quota halves, and the decision says
    // to what. Every other device judged here only moves relatively (its quota doubles back, its speed's average takes
    // the new samples), written in the transaction's last statement: its row, which leases and uploads also lock, is
    // held from that statement to the commit, not through the whole transaction (a validator that keeps pace runs
    // these back to back, and lease groups waited on ~500 device rows each time).
    const strictIds = [
      ...new Set(verdicts.filter((v) => v.state === 'invalid' && results.get(v.resultId)?.state === 'returned').map((v) => results.get(v.resultId)!.device_id)),
    ].sort()
    const devices = new Map(
      (
        strictIds.length === 0
          ? []
          : await this.#rows<{ id: string; quota_shift: number; flops_per_ms: number | null }>(
              c,
              'SELECT id, quota_shift, flops_per_ms FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
              [strictIds],
            )
      ).map((d) => [d.id, d]),
    )
    /** Per device not locked: valid results, and its speed samples folded as an EWMA from 0 and from the first. */
    const relative = new Map<string, { valid: number; samples: number; fromZero: number; fromFirst: number }>()
    const repKey = (deviceId: string, workload: string, version: number) => JSON.stringify([deviceId, workload, version])
    /** Per (device, workload, version): valid results since the batch's last invalid one, and whether there was one. */
    const streaks = new Map<string, { deviceId: string; workload: string; version: number; valid: number; reset: boolean }>()

    const log: Decision[] = []
    const changedResults = new Set<string>()
    const changedUnits = new Set<string>()
    const changedDevices = new Set<string>()
    const pendingUnits = new Set<string>()
    const touched = new Set<string>()
    /** Units done in this transaction: their state is final, nothing to settle (as SQLite's recordVerdicts). */
    const finished = new Set<string>()
    for (const v of verdicts) {
      const r = results.get(v.resultId)
      // As SQLite's UPDATE ... WHERE state = 'returned': a judged result keeps its first verdict. A result another
      // hub already marked pending is not marked (and logged) twice.
      if (!r || r.state !== 'returned' || (v.state === 'pending' && r.checked)) continue
      const unit = unitRows.get(r.unit_id)
      if (!unit) continue
      if (v.state === 'pending') {
        r.checked = true
        pendingUnits.add(r.unit_id)
      } else {
        r.state = v.state
        r.validated_at = now
      }
      r.reason = v.reason
      changedResults.add(r.id)
      log.push({
        at: now,
        deviceId: r.device_id,
        unitId: r.unit_id,
        resultId: v.resultId,
        kind: 'verdict',
        message:
          v.state === 'pending'
            ? `Passed its own check; waiting for replicas to agree (${v.reason ?? 'replicated'}).`
            : `${v.state === 'valid' ? 'Valid' : 'Invalid'}: ${v.reason ?? 'verified'}.`,
      })
      const key = repKey(r.device_id, unit.workload, unit.version)
      const device = devices.get(r.device_id)
      const streak = streaks.get(key) ?? { deviceId: r.device_id, workload: unit.workload, version: unit.version, valid: 0, reset: false }
      if (v.state !== 'pending') streaks.set(key, streak)
      if (v.state === 'valid') {
        streak.valid += 1
        // The quota doubles back on a valid result (see quotaOf); the speed is an EWMA of what results show.
        const sample = v.flopsPerMs && Number.isFinite(v.flopsPerMs) ? v.flopsPerMs : undefined
        if (device) {
          if (device.quota_shift > 0) device.quota_shift -= 1
          if (sample !== undefined) device.flops_per_ms = device.flops_per_ms === null ? sample : 0.7 * device.flops_per_ms + 0.3 * sample
          changedDevices.add(device.id)
        } else if (!strictIds.includes(r.device_id)) {
          const d = relative.get(r.device_id) ?? { valid: 0, samples: 0, fromZero: 0, fromFirst: 0 }
          d.valid += 1
          if (sample !== undefined) {
            d.fromFirst = d.samples === 0 ? sample : 0.7 * d.fromFirst + 0.3 * sample
            d.fromZero = 0.7 * d.fromZero + 0.3 * sample
            d.samples += 1
          }
          relative.set(r.device_id, d)
        }
        // An unreplicated unit is done with its first valid result; a replicated one waits for the quorum's verdict.
        if (unit.wanted <= 1 && unit.state !== 'done') {
          unit.state = 'done'
          unit.canonical_result = v.resultId
          changedUnits.add(unit.id)
          finished.add(unit.id)
        }
      } else if (v.state === 'invalid') {
        Object.assign(streak, { valid: 0, reset: true })
        if (device) {
          // The quota halves on an invalid result.
          device.quota_shift = Math.min(device.quota_shift + 1, 30)
          changedDevices.add(device.id)
          log.push(quotaHalved(now, { deviceId: r.device_id, unitId: r.unit_id, resultId: v.resultId }, device.quota_shift))
        }
      }
      touched.add(r.unit_id)
    }
    for (const u of units) {
      const unit = unitRows.get(u.unitId)
      const open = unit !== undefined && unit.state !== 'done'
      if (u.canonicalResultId) {
        if (open) {
          Object.assign(unit, { state: 'done', canonical_result: u.canonicalResultId })
          finished.add(u.unitId)
        }
      } else if (u.error) {
        if (open) {
          Object.assign(unit, { state: 'done', error: u.error })
          finished.add(u.unitId)
        }
      } else if (u.wanted) {
        if (open) unit.wanted = u.wanted
      }
      const decision = quorumDecision(now, u)
      if (decision) log.push(decision)
      if (open) changedUnits.add(u.unitId)
      pendingUnits.add(u.unitId)
      touched.add(u.unitId)
    }

    // Every write in ONE statement (each table once; none reads another's changes), not five round trips each
    // waiting on the event loop while this transaction holds its results', units' and devices' locks.
    const judged = [...changedResults].map((id) => results.get(id)!)
    const streakList = [...streaks.values()]
    const deviceList = [...changedDevices].map((id) => devices.get(id)!)
    const unitList = [...changedUnits].map((id) => unitRows.get(id)!)
    await this.#query(
      c,
      `WITH judged AS (
         UPDATE results r SET state = v.state, reason = v.reason, validated_at = v.validated_at, checked = v.checked
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bool[]) AS v (id, state, reason, validated_at, checked)
         WHERE r.id = v.id
       ), grown AS (
         -- A streak without an invalid result in this batch grows by its valid ones; one with an invalid result
         -- restarts from the valid ones after it.
         INSERT INTO reputation (device_id, workload, version, streak)
         SELECT v.device_id, v.workload, v.version, v.streak FROM unnest($6::text[], $7::text[], $8::int[], $9::int[], $24::bool[]) AS v (device_id, workload, version, streak, reset)
         WHERE NOT v.reset
         ON CONFLICT (device_id, workload, version) DO UPDATE SET streak = reputation.streak + excluded.streak
       ), restarted AS (
         INSERT INTO reputation (device_id, workload, version, streak)
         SELECT v.device_id, v.workload, v.version, v.streak FROM unnest($6::text[], $7::text[], $8::int[], $9::int[], $24::bool[]) AS v (device_id, workload, version, streak, reset)
         WHERE v.reset
         ON CONFLICT (device_id, workload, version) DO UPDATE SET streak = excluded.streak
       ), speeds AS (
         UPDATE devices d SET quota_shift = v.quota_shift, flops_per_ms = v.flops_per_ms
         FROM unnest($10::text[], $11::int[], $12::float8[]) AS v (id, quota_shift, flops_per_ms) WHERE d.id = v.id
       ), decided AS (
         UPDATE units u SET state = v.state, canonical_result = v.canonical_result, error = v.error, wanted = v.wanted
         FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::int[]) AS v (id, state, canonical_result, error, wanted)
         WHERE u.id = v.id
       )
       ${INSERT_DECISIONS(18)}`,
      [
        judged.map((r) => r.id),
        judged.map((r) => r.state),
        judged.map((r) => r.reason),
        judged.map((r) => r.validated_at),
        judged.map((r) => r.checked),
        streakList.map((k) => k.deviceId),
        streakList.map((k) => k.workload),
        streakList.map((k) => k.version),
        streakList.map((k) => k.valid),
        deviceList.map((d) => d.id),
        deviceList.map((d) => d.quota_shift),
        deviceList.map((d) => d.flops_per_ms),
        unitList.map((u) => u.id),
        unitList.map((u) => u.state),
        unitList.map((u) => u.canonical_result),
        unitList.map((u) => u.error),
        unitList.map((u) => u.wanted),
        ...decisionColumns(log),
        streakList.map((k) => k.reset),
      ],
    )
    const unsettled = [...touched].filter((id) => !finished.has(id))
    if (unsettled.length > 0) await this.#query(c, SETTLE_UNITS, [unsettled])
    if (pendingUnits.size > 0) {
      // Two hubs' validators may each have decided a unit on replicas the other had not yet recorded (both saw fewer
      // than the unit wants, or one decided without the other's). SQLite's single validator never leaves a unit with
      // as many waiting replicas as it wants, nor a done unit with waiting ones; here such replicas go back to the
      // validator, which decides on all of them in its next pass (the units are locked, so this sees every replica).
      await this.#query(
        c,
        `UPDATE results r SET checked = false FROM units u
         WHERE u.id = ANY($1::text[]) AND r.unit_id = u.id AND r.state = 'returned' AND r.checked
           AND (u.state = 'done' OR (SELECT COUNT(*) FROM results q WHERE q.unit_id = u.id AND q.state = 'returned' AND q.checked) >= u.wanted)`,
        [[...pendingUnits]],
      )
    }
    if (relative.size > 0) {
      // Last, so these rows stay locked only until the commit (locked first in id order, as every writer of devices).
      const ids = [...relative.keys()].sort()
      const moves = ids.map((id) => relative.get(id)!)
      await this.#query(
        c,
        `WITH locked AS (SELECT id FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)
         UPDATE devices d SET quota_shift = greatest(d.quota_shift - v.valid, 0),
           flops_per_ms = CASE WHEN v.samples = 0 THEN d.flops_per_ms WHEN d.flops_per_ms IS NULL THEN v.from_first
             ELSE power(0.7, v.samples) * d.flops_per_ms + v.from_zero END
         FROM locked, unnest($1::text[], $2::int[], $3::int[], $4::float8[], $5::float8[]) AS v (id, valid, samples, from_zero, from_first)
         WHERE d.id = locked.id AND v.id = locked.id`,
        [ids, moves.map((m) => m.valid), moves.map((m) => m.samples), moves.map((m) => m.fromZero), moves.map((m) => m.fromFirst)],
      )
    }
  }

  async #insertDecisions(on: Queryable, decisions: Decision[]): Promise<void> {
    if (decisions.length === 0) return
    await this.#query(on, INSERT_DECISIONS(1), decisionColumns(decisions))
  }

  async quorumCandidates(unitId: string): Promise<QuorumCandidate[]> {
    const rows = await this.#rows<{ id: string; device_id: string; output: Buffer }>(
      this.#loops,
      `SELECT id, device_id, output FROM results WHERE unit_id = $1 AND state = 'returned' AND checked ORDER BY received_at, seq`,
      [unitId],
    )
    return rows.map((r) => ({ resultId: r.id, deviceId: r.device_id, output: r.output }))
  }

  async resultCount(unitId: string): Promise<number> {
    const [row] = await this.#rows<{ n: number }>(this.#loops, 'SELECT COUNT(*) AS n FROM results WHERE unit_id = $1', [unitId])
    return row.n
  }

  async recordDecisions(decisions: Decision[]): Promise<void> {
    await this.#insertDecisions(this.#pool, decisions)
  }

  async deviceDecisions(deviceId: string, { resultId, limit }: { resultId?: string; limit: number }): Promise<Decision[]> {
    const n = Math.max(0, Math.floor(limit))
    // A result's log includes the quorum's entries about its unit (they name no device).
    const rows = resultId
      ? await this.#rows<{ at: number; device_id: string | null; unit_id: string | null; result_id: string | null; kind: string; message: string }>(
          this.#pool,
          `SELECT at, device_id, unit_id, result_id, kind, message FROM decisions
           WHERE (result_id = $1 AND device_id = $2)
              OR (device_id IS NULL AND unit_id = (SELECT unit_id FROM results WHERE id = $1 AND device_id = $2))
           ORDER BY seq LIMIT $3`,
          [resultId, deviceId, n],
        )
      : await this.#rows<{ at: number; device_id: string | null; unit_id: string | null; result_id: string | null; kind: string; message: string }>(
          this.#pool,
          `SELECT at, device_id, unit_id, result_id, kind, message FROM (SELECT seq, at, device_id, unit_id, result_id, kind, message FROM decisions
           WHERE device_id = $1 ORDER BY seq DESC LIMIT $2) AS latest ORDER BY seq`,
          [deviceId, n],
        )
    return rows.map((r) => ({ at: r.at, deviceId: r.device_id, unitId: r.unit_id, resultId: r.result_id, kind: r.kind, message: r.message }))
  }

  async creditSince(deviceIds: readonly string[], since: number): Promise<Map<string, DeviceCreditWindow>> {
    const rows = await this.#rows<{ id: string; credit: number; flops_per_ms: number | null }>(
      this.#loops,
      `SELECT t.id, (SELECT COALESCE(SUM(amount_flops), 0) FROM ledger WHERE device_id = t.id AND kind = 'compute' AND created_at >= $2) AS credit,
              (SELECT flops_per_ms FROM devices WHERE id = t.id) AS flops_per_ms
       FROM unnest($1::text[]) AS t (id)`,
      [[...new Set(deviceIds)], since],
    )
    return new Map(rows.map((r) => [r.id, { creditFlops: r.credit, flopsPerMs: r.flops_per_ms }]))
  }

  async deviceQuota(deviceId: string, now: number, defaultQuota: number): Promise<{ quota: number; leasedToday: number }> {
    const [d] = await this.#rows<{ quota_shift: number; quota_day: number | null; leased_today: number }>(
      this.#pool,
      'SELECT quota_shift, quota_day, leased_today FROM devices WHERE id = $1',
      [deviceId],
    )
    return { quota: quotaOf(defaultQuota, d?.quota_shift ?? 0), leasedToday: d?.quota_day === utcDay(now) ? d.leased_today : 0 }
  }

  async uncreditedResults(limit: number): Promise<CreditCandidate[]> {
    const rows = await this.#rows<{ id: string; device_id: string; unit_id: string; cost_flops: number }>(
      this.#loops,
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
      // The ledger rows and the results' credit time in one statement (one round trip fewer while the locks are held).
      const { rowCount } = await this.#query(
        c,
        `WITH credited AS (UPDATE results SET credited_at = $4 WHERE id = ANY($2::text[]))
         INSERT INTO ledger (device_id, kind, result_id, amount_flops, created_at)
         SELECT e.device_id, 'compute', e.result_id, e.amount_flops, $4
         FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS e (device_id, result_id, amount_flops, ord)
         ORDER BY e.ord
         ON CONFLICT (result_id) DO NOTHING`,
        [entries.map((e) => e.deviceId), ids, entries.map((e) => e.amountFlops), now],
      )
      return rowCount ?? 0
    }, { synchronous: false, loop: true })
  }

  async completeJobs(now: number): Promise<string[]> {
    // One statement: when two hubs complete at once, the second finds the job no longer 'open' and reports nothing.
    const rows = await this.#rows<{ id: string }>(
      this.#loops,
      `WITH done AS (
         -- A unit that never reached a quorum makes its job an error for the owner (its other units' answers stay).
         UPDATE jobs j SET state = CASE WHEN EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.error IS NOT NULL) THEN 'error' ELSE 'done' END,
           completed_at = $1
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
