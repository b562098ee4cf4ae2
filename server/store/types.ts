/**
 * The hub's store, as the loops and the HTTP layer see it. Every method returns a Promise and nothing here names SQL
 * or SQLite, so a Postgres implementation can fill the same interface when one hub is outgrown. The loops coordinate
 * only through the states below (BOINC style): a unit moves `unsent -> leased -> returned -> done`, a result moves
 * `returned -> valid | invalid`, and a valid result earns exactly one append-only ledger row. A bandwidth receipt that
 * passes every rule earns one ledger row too, written in the same transaction that stores the receipt.
 */
import type { Backend, ResultState } from '../../protocol/schemas.ts'

export type UnitState = 'unsent' | 'leased' | 'returned' | 'done'
export type JobState = 'open' | 'done' | 'error'

/** A job as the generator produced it, before it is stored. */
export interface NewJob {
  id: string
  workload: string
  /** The workload's version when the job was created; units run with that version. */
  version: number
  label: string | null
  /** The workload parameters after the workload's schema parsed them (defaults filled in). */
  params: Record<string, unknown>
  /** Demo jobs are seeded by the hub itself so a visitor always has work. */
  demo: boolean
  createdAt: number
}

/** One unit of a new job; `index` is its position in the generator's output (the workload assembles by it). */
export interface NewUnit {
  id: string
  index: number
  spec: Record<string, unknown>
  inputs: string[]
  costFlops: number
  /** Agreeing results from independent volunteers that make it done (the workload's replication). @default 1 */
  quorum?: number
  /** Most results gathered before the unit is an error (replicated units). @default 8 */
  maxResults?: number
  /** A known-answer spot check: the hub computes the answer itself and checks the one result against it. */
  knownAnswer?: boolean
}

export interface UnitCounts {
  total: number
  unsent: number
  leased: number
  returned: number
  done: number
  /** Done without an answer: replicas never reached a quorum (included in `done`). */
  error: number
}

export interface JobRecord {
  id: string
  workload: string
  version: number
  label: string | null
  state: JobState
  params: Record<string, unknown>
  demo: boolean
  createdAt: number
  completedAt: number | null
  units: UnitCounts
}

export interface UnitRecord {
  id: string
  jobId: string
  index: number
  workload: string
  version: number
  state: UnitState
  spec: Record<string, unknown>
  inputs: string[]
  costFlops: number
  /** Device holding the current lease, while `leased`. */
  leaseDevice: string | null
  /** Current lease deadline in ms since the epoch, while `leased`. */
  deadline: number | null
  /** How many times the unit was leased. */
  attempts: number
  canonicalResultId: string | null
  /** Agreeing results needed (1: not replicated). */
  quorum: number
  /** Results the hub is gathering now: the quorum, 1 for a trusted device's unreplicated unit, more after a disagreement. */
  wanted: number
  knownAnswer: boolean
  /** Why a done unit has no answer (no quorum after the most results), else null. */
  error: string | null
}

/** What a device earned lately and how fast it is (see Store.creditSince). */
export interface DeviceCreditWindow {
  creditFlops: number
  flopsPerMs: number | null
}

export interface LeaseUnitsParameters {
  deviceId: string
  max: number
  now: number
  /**
   * The latest deadline a unit of this lease gets, ms since the epoch. A device whose speed the hub measured gets less
   * for a small unit: three times the unit's cost at its measured speed plus 30 s, at least `minLeaseMs`.
   */
  deadline: number
  /** @default 60000 */
  minLeaseMs?: number
  /** The partner site whose widget asks for the units (see protocol/widget.ts); recorded on the lease. */
  partner?: string
  /**
   * Replicas of a unit never go to the same device or linked wallet; nor, when this is true, to the same network
   * (IPv4 /24, IPv6 /48: the network the device last called from). @default true
   */
  independentNetworks?: boolean
  /** Units a device may lease per UTC day until an invalid result lowers its own quota. @default 10000 */
  dailyQuota?: number
  /**
   * Adaptive replication: a device with at least `minStreak` consecutive valid results for a workload version gets
   * a replicated unit alone with probability 1 − minStreak / streak (at most 0.95); `random` draws. Absent: always
   * replicate.
   */
  trust?: { minStreak: number; random: () => number }
}

/** A result to store; `output` is already checked against the unit's output size. */
export interface ResultInsert {
  resultId: string
  unitId: string
  deviceId: string
  output: Uint8Array
  backend: Backend
  elapsedMs: number
  receivedAt: number
  /**
   * The partner site whose widget the result was computed through; when absent, the partner of this device's latest
   * lease of the unit (none for the app's own leases).
   */
  partner?: string
}

/** What happened to one result of a batch; rejections are data so one bad result does not fail its batch. */
export type ResultInsertOutcome =
  | { kind: 'accepted'; state: ResultState }
  | { kind: 'duplicate'; state: ResultState }
  | { kind: 'rejected'; code: 'not_found' | 'forbidden' | 'conflict'; message: string }

/** A returned result with what the validator needs to check it. */
export interface PendingResult {
  resultId: string
  unitId: string
  deviceId: string
  workload: string
  spec: Record<string, unknown>
  inputs: string[]
  output: Uint8Array
  costFlops: number
  quorum: number
  wanted: number
  maxResults: number
  knownAnswer: boolean
  /** The unit's canonical output when it is done already (a late replica is compared with it). */
  canonical: Uint8Array | undefined
  /** When this device leased the unit (its latest lease). */
  leasedAt: number
  receivedAt: number
}

/**
 * A result's verdict. `pending`: it passed its own check and waits for replicas to agree (it stays `returned` to the
 * volunteer). `reason`: why it is invalid, or for a valid one how it was checked; shown to the volunteer and kept in
 * the decision log.
 */
export interface ResultVerdict {
  resultId: string
  state: 'valid' | 'invalid' | 'pending'
  reason: string | null
  /** The speed this result shows (unit cost over the time from lease to result), for the device's measured speed. */
  flopsPerMs?: number
}

/** What the quorum decided for a replicated unit, recorded with its results' verdicts. */
export interface UnitVerdict {
  unitId: string
  /** A quorum agreed: this result is the unit's answer and the unit is done. */
  canonicalResultId?: string
  /** No quorum yet: gather this many results (not counting invalid ones) before deciding again. */
  wanted?: number
  /** No quorum after the most results: the unit is done without an answer, for this reason. */
  error?: string
}

/** What one validator pass decided about the results it was given (see Store.validatePending). */
export interface ValidatorPass {
  /** How many of the given results it judged (a pass out of time leaves the rest, oldest first, for the next one). */
  checked: number
  verdicts: ResultVerdict[]
  units: UnitVerdict[]
  /** The verdicts' time. */
  now: number
}

/** A replica that passed its own check and waits for the quorum. */
export interface QuorumCandidate {
  resultId: string
  deviceId: string
  output: Uint8Array
}

/** One entry of the decision log: what the hub decided about a device's lease, result or credit, and why. */
export interface Decision {
  at: number
  deviceId: string | null
  unitId: string | null
  resultId: string | null
  /** `verdict`, `quorum`, `credit`, `quota`, `lease`. */
  kind: string
  message: string
}

/** A valid result that has no ledger row yet. */
export interface CreditCandidate {
  resultId: string
  deviceId: string
  unitId: string
  costFlops: number
}

export interface LedgerAppend {
  resultId: string
  deviceId: string
  amountFlops: number
}

/** `compute`: a valid result's credit; `bandwidth`: credit for serving an input blob to another volunteer. */
export type LedgerKind = 'compute' | 'bandwidth'

export interface LedgerEntry {
  seq: number
  deviceId: string
  kind: LedgerKind
  /** The credited result, for `compute` rows. */
  resultId: string | null
  /** The credited receipt, for `bandwidth` rows. */
  receiptId: string | null
  amountFlops: number
  createdAt: number
}

/** A bandwidth receipt whose signature and roles were already checked (see server/receipts/). */
export interface ReceiptInsert {
  receiptId: string
  receiver: string
  server: string
  blob: string
  bytes: number
  unitId: string
  /** The receipt's own `at`, ms since the epoch. */
  signedAt: number
  /** The receiver's signature, base64url, kept as evidence. */
  signature: string
  /** The device whose signed request carried the receipt (the receiver or the server). */
  submittedBy: string
}

export interface RecordReceiptsParameters {
  receipts: ReceiptInsert[]
  now: number
  /** Credit per byte served. */
  flopsPerByte: number
  /** Most bytes one server is credited for per UTC day. */
  dailyCapBytes: number
  /** Credit receipts whose receiver and server last called from the same network. */
  allowSameNetwork: boolean
}

/** What happened to one receipt; a refusal stores nothing and says why. */
export type ReceiptOutcome =
  | { kind: 'credited'; creditFlops: number }
  /** The same receipt was credited before; `creditFlops` is what it earned then (nothing new is credited). */
  | { kind: 'duplicate'; creditFlops: number }
  | { kind: 'refused'; reason: string }

export interface DeviceSummary {
  returned: number
  valid: number
  invalid: number
  /** Verified credit in flops: the sum of this device's ledger rows. */
  creditFlops: number
  /** Valid results whose ledger row the credit loop has not written yet. */
  crediting: number
  /** What this device earned by serving input blobs to other volunteers (included in `creditFlops`). */
  bandwidth: { servedBytes: number; creditFlops: number }
}

export interface DeviceResultRecord {
  resultId: string
  unitId: string
  jobId: string
  workload: string
  state: ResultState
  reason: string | null
  creditFlops: number
  backend: Backend
  elapsedMs: number
  receivedAt: number
  validatedAt: number | null
}

/** Verified work done through one partner's widget. */
export interface PartnerTotals {
  partner: string
  /** Credited (verified) results whose unit was computed through this partner's widget. */
  units: number
  /** Their credit in flops: the sum of their ledger rows. */
  creditFlops: number
  /** Distinct devices that earned it. */
  devices: number
}

/** The job new units come from now. */
export interface CurrentJob {
  id: string
  workload: string
  label: string | null
}

/** Row counts, for health, metrics and tests that check nothing was stored. */
export interface StoreCounts {
  jobs: number
  units: number
  leases: number
  results: number
  ledger: number
  devices: number
  blobs: number
  receipts: number
}

export interface Store {
  /** Short name of the engine, shown by `/health` (e.g. `sqlite`). */
  readonly kind: string
  /**
   * Whether a write's transaction commits inside the call, before its promise is awaited (SQLite, whose promise then
   * waits only for the disk): a caller may issue the next write at once and the two still commit in call order. When
   * false (Postgres), a caller that needs its writes in order awaits each before the next.
   */
  readonly commitsInCallOrder: boolean
  close(): Promise<void>

  getMeta(key: string): Promise<string | undefined>
  setMeta(key: string, value: string): Promise<void>

  /**
   * Registers a device on first sight and updates its last-seen time and, when given, the network it called from
   * (an opaque label such as `v4:203.0.113`; see server/receipts/network.ts).
   */
  touchDevice(deviceId: string, now: number, network?: string): Promise<void>

  /** Records a sign-in nonce the hub handed out. */
  issueNonce(nonce: string, now: number): Promise<void>
  /** Marks a nonce used; true only the first time, and only when it was issued within `maxAgeMs`. */
  consumeNonce(nonce: string, now: number, maxAgeMs: number): Promise<boolean>
  /**
   * Opens a wallet session (by the hash of its bearer token) and links the signing-in device to the address, so the
   * device's earlier verified credit counts for the wallet. One transaction. A device stays with the first wallet it
   * was linked to (its credit may already have been paid out there): resolves `'other_wallet'` and opens nothing when
   * the device belongs to another address.
   */
  openSession(session: { tokenHash: string; address: string; deviceId: string; expiresAt: number }, now: number): Promise<'opened' | 'other_wallet'>
  /** The address of a live session, or undefined. */
  sessionAddress(tokenHash: string, now: number): Promise<string | undefined>
  /** Devices linked to a wallet address. */
  walletDevices(address: string): Promise<string[]>

  /** Stores a content-addressed blob; storing the same hash twice is a no-op. */
  putBlob(hash: string, bytes: Uint8Array): Promise<void>
  getBlob(hash: string): Promise<Uint8Array | undefined>

  /** Stores a job, its units and the blobs they read in one transaction: all or nothing. */
  insertJob(job: NewJob, units: NewUnit[], blobs: ReadonlyMap<string, Uint8Array>): Promise<void>
  getJob(id: string): Promise<JobRecord | undefined>
  /** Jobs, newest first. */
  listJobs(limit: number): Promise<JobRecord[]>
  /** How many demo jobs are still open. */
  countOpenDemoJobs(): Promise<number>
  /** The oldest open job (the one `leaseUnits` takes units from first), or undefined when every job is done. */
  currentJob(): Promise<CurrentJob | undefined>
  getUnit(id: string): Promise<UnitRecord | undefined>
  /** Several units in one call (a batch of results checks its units with one round trip); unknown ids are left out. */
  getUnits(ids: readonly string[]): Promise<Map<string, UnitRecord>>
  /** The canonical output of each unit of a job, by unit index; undefined where a unit is not done. */
  jobOutputs(jobId: string): Promise<(Uint8Array | undefined)[]>

  /**
   * Leases up to `max` units to a device in one transaction: unsent units and units whose lease expired, oldest job
   * first, never a unit this device already returned a result for.
   */
  leaseUnits(params: LeaseUnitsParameters): Promise<UnitRecord[]>
  /** Puts units whose lease deadline passed back to `unsent`; returns how many. */
  expireLeases(now: number): Promise<number>

  /** Stores a batch of results in ONE transaction; outcomes are in the order of `items`. */
  insertResults(items: ResultInsert[]): Promise<ResultInsertOutcome[]>
  /** Results waiting for the validator, oldest first. */
  pendingResults(limit: number): Promise<PendingResult[]>
  /**
   * Records verdicts and the quorum's unit verdicts in one transaction, with a decision-log entry for each: a valid
   * result of an unreplicated unit makes it done; an invalid one frees its replica's place, so the unit is issued
   * again; `pending` results wait for replicas. Updates each device's record: a valid result extends its streak of
   * consecutive valid results (per workload version) and doubles its daily quota back towards the default; an invalid
   * one resets the streak and halves its quota.
   */
  recordVerdicts(verdicts: ResultVerdict[], now: number, units?: UnitVerdict[]): Promise<void>
  /**
   * One validator pass: reads up to `limit` results waiting for the validator (as pendingResults), hands them to
   * `judge`, records what it decided (as recordVerdicts), then resolves with it; undefined when nothing waits. Two
   * hubs' passes never judge the same result: on Postgres the results stay locked from the read to the verdicts'
   * commit, and a pass skips results another hub's pass holds.
   */
  validatePending(limit: number, judge: (pending: PendingResult[]) => Promise<ValidatorPass>): Promise<ValidatorPass | undefined>
  /** The results of a unit that passed their own check and wait for the quorum, oldest first. */
  quorumCandidates(unitId: string): Promise<QuorumCandidate[]>
  /** How many results a unit has, in every state. */
  resultCount(unitId: string): Promise<number>
  /** Appends entries to the decision log. */
  recordDecisions(decisions: Decision[]): Promise<void>
  /** The decision log of one of a device's results (or of all its recent decisions), oldest first. */
  deviceDecisions(deviceId: string, options: { resultId?: string; limit: number }): Promise<Decision[]>
  /**
   * For each device: compute credit its ledger rows added since `since`, and its measured speed (for the hourly cap).
   * One call for a whole credit pass (a call per device was a round trip each).
   */
  creditSince(deviceIds: readonly string[], since: number): Promise<Map<string, DeviceCreditWindow>>
  /** The device's daily quota and how many units it leased today (UTC). */
  deviceQuota(deviceId: string, now: number, defaultQuota: number): Promise<{ quota: number; leasedToday: number }>

  /** Valid results without a ledger row, oldest first. */
  uncreditedResults(limit: number): Promise<CreditCandidate[]>
  /** Appends ledger rows in one transaction; a result already in the ledger is skipped. Returns rows written. */
  appendLedger(entries: LedgerAppend[], now: number): Promise<number>
  /** Marks open jobs whose units are all done as done; returns their ids. */
  completeJobs(now: number): Promise<string[]>

  /**
   * Checks bandwidth receipts against the stored state and credits those that pass, in ONE transaction: each credited
   * receipt is stored with a `bandwidth` ledger row for its server. Outcomes are in the order of `receipts`.
   * Rules: the unit exists and reads the blob; the receiver leased the unit or returned a result for it; `bytes` is
   * the blob's size; the server is a known device; receiver and server last called from different networks (unless
   * allowed); one credited receipt per (receiver, blob); the server's credited bytes this UTC day stay within the cap.
   */
  recordReceipts(params: RecordReceiptsParameters): Promise<ReceiptOutcome[]>

  deviceSummary(deviceId: string): Promise<DeviceSummary>
  /** A device's results, newest first. */
  deviceResults(deviceId: string, limit: number): Promise<DeviceResultRecord[]>
  /** A device's last `limit` ledger entries, oldest first. */
  deviceLedger(deviceId: string, limit: number): Promise<LedgerEntry[]>

  /** Credited work per partner (results computed through a partner's widget), most credit first. */
  partnerTotals(): Promise<PartnerTotals[]>

  counts(): Promise<StoreCounts>
  /** Units in each state (the hub's metrics). */
  unitStates(): Promise<Record<UnitState, number>>
}
