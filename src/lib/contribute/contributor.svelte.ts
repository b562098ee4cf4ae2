/**
 * The contribute loop on the volunteer's side: lease units, fetch their inputs, compute them in the worker pool, put
 * each result in the IndexedDB outbox, and let the uploader deliver it. Nothing here runs before `start()`, which
 * the Contribute button calls; only the upload of results left from an earlier visit starts on its own (and, after
 * an app update the person accepted, contributing carries on).
 *
 * Leased units are kept in IndexedDB until their result is in the outbox (see storage/leases.ts), and their inputs
 * in the device's blob store, so the buffer of leased units still computes after a reload or with the network gone.
 */
import { MeshworkError, type Backend, type LeasedUnit, type VolunteerSummary } from '../../../protocol/index.ts'
import { WorkerPool, type TaskSplit } from '../compute/pool.ts'
import { matmulRowSplit } from '../../../workloads/matmul/split.ts'
import { HubClient } from '../hub/client.ts'
import { ensureDeviceKey, loadDeviceKey } from '../identity/index.ts'
import type { PeerNetwork } from '../p2p/network.svelte.ts'
import { requestOutboxSync } from '../pwa/background-sync.ts'
import { checkpointFraction, completeLease, countOutbox, deleteLease, listLeases, putLeases } from '../storage/index.ts'
import type { Settings } from '../settings.svelte.ts'
import { cpuKernelLabel } from '../../../workers/wasm-features.ts'
import { InputCache } from './input-cache.ts'
import { IoWorker, type UploadEvent } from './io.ts'

export type TaskPhase = 'queued' | 'fetching' | 'computing'

export interface TaskView {
  unitId: string
  jobId: string
  workload: string
  costFlops: number
  phase: TaskPhase
  progress: number
  /** Workers computing this one unit together (more than 1 when it was split by rows: see #splitAcross). */
  cores: number
}

export interface BackendView {
  kind: Backend
  /** "WebGPU: <adapter>" or "CPU (WASM SIMD) × 2 workers". */
  label: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Workloads whose units can be split over several workers (WorkerPool.runAcross). */
const SPLITS: Record<string, TaskSplit> = { matmul: matmulRowSplit }

/** How often a computing unit saves its progress to IndexedDB (at a slice boundary; see workers/checkpoint.ts). */
export const CHECKPOINT_EVERY_MS = 2000

/** The longest a Stop waits for its units to settle before it says Stopped (see stop). */
const STOP_SETTLE_MS = 3000

/** sessionStorage flag: contributing was paused for an update and carries on after the reload. */
const RESUME_AFTER_UPDATE = 'meshwork.resumeAfterUpdate'

export class Contributor {
  #running = $state(false)
  #tasks = $state<TaskView[]>([])
  #waiting = $state(0)
  #summary = $state<VolunteerSummary | undefined>(undefined)
  #backend = $state<BackendView | undefined>(undefined)
  #status = $state('')
  #notice = $state('')
  #online = $state(globalThis.navigator?.onLine ?? true)
  /** The last request to the hub got an answer (false after a network failure, until one succeeds). */
  #hubReachable = $state(true)

  readonly #settings: Settings
  readonly #peers: PeerNetwork | undefined
  readonly #baseUrl: string
  readonly #partner: string | undefined
  #completed = $state(0)
  #client: HubClient | undefined
  /** Input downloads and outbox uploads, in a worker (src/lib/contribute/io.ts). */
  #io: IoWorker | undefined
  #uploadsStarted: Promise<boolean> | undefined
  #pool: WorkerPool | undefined
  #cache = new InputCache()
  #held = new Map<string, LeasedUnit>()
  #pumping = false
  #pumpTimer: ReturnType<typeof setTimeout> | undefined
  #summaryTimer: ReturnType<typeof setInterval> | undefined
  #verifyTimer: ReturnType<typeof setTimeout> | undefined
  /** The summary fetch under way, and whether another was asked for meanwhile (see refreshSummary). */
  #summaryRun: Promise<void> | undefined
  #summaryAgain = false
  #leaseBackoff = 1000
  /** Finishing running units before an update: lease nothing, start nothing new. */
  #finishing = false
  /**
   * Bumped by every Stop. A unit begun before a Stop (still fetching its inputs, say) must not carry on into the next
   * Start, which runs it again from the lease buffer: it would be computed twice and its second result refused.
   */
  #epoch = 0
  /** Units being fetched, computed or stored (see #runUnit): a Stop waits for them before it says Stopped. */
  #inFlight = new Set<Promise<void>>()
  /** The governor's throttle (src/lib/governor/): workers allowed to compute and their duty. */
  #throttle = { workers: Infinity, duty: 1 }

  /**
   * @param baseUrl the hub's origin. @default '' (same origin)
   * @param partner the partner site whose widget runs this (src/embed/): leases and results carry it, so its
   *   credit is attributed to that partner. @default undefined (the app itself)
   */
  constructor(settings: Settings, peers?: PeerNetwork, baseUrl = '', partner?: string) {
    this.#settings = settings
    this.#peers = peers
    this.#baseUrl = baseUrl
    this.#partner = partner
    globalThis.addEventListener?.('online', () => {
      this.#online = true
      this.#leaseBackoff = 1000
      this.#schedulePump(0)
    })
    globalThis.addEventListener?.('offline', () => (this.#online = false))
  }

  get running() { return this.#running }
  get tasks() { return this.#tasks }
  /** Finished results in the outbox, not yet acknowledged by the hub. */
  get waiting() { return this.#waiting }
  get summary() { return this.#summary }
  get backend() { return this.#backend }
  /** What the loop is doing when it is not computing ("No work available", "Hub unreachable"). */
  get status() { return this.#status }
  /** Something the person should know (a rejected upload, a GPU fallback). */
  get notice() { return this.#notice }
  get online() { return this.#online }
  /** Whether this page can reach the hub: `offline` (the browser says so), `hub-unreachable`, or `online`. */
  get connectivity(): 'online' | 'offline' | 'hub-unreachable' {
    return !this.#online ? 'offline' : this.#hubReachable ? 'online' : 'hub-unreachable'
  }
  get computing() { return this.#tasks.filter((t) => t.phase === 'computing').length }
  get client() { return this.#client }
  /** Units this page computed and put in the outbox since it loaded. */
  get completed() { return this.#completed }

  /** On page load: upload results left from an earlier visit and show this device's totals. Computes nothing. */
  async resume(): Promise<void> {
    this.#waiting = await countOutbox()
    const key = await loadDeviceKey()
    if (!key) return
    this.#connect(key)
    this.#kickUploads()
    void this.#peers?.flushReceipts()
    void this.refreshSummary()
    if (globalThis.sessionStorage?.getItem(RESUME_AFTER_UPDATE)) {
      sessionStorage.removeItem(RESUME_AFTER_UPDATE)
      await this.start()
      if (this.#running) this.#notice = 'Meshwork was updated; contributing carries on where it paused.'
    }
  }

  /**
   * Before an update reloads the page: leases nothing more, lets the units that are computing finish (their results
   * go to the outbox), then stops. Units not started stay in the lease buffer, and contributing resumes after the
   * reload. Resolves at once when not contributing.
   * @param timeoutMs longest wait for running units. @default 120000
   */
  async finishForUpdate(timeoutMs = 120_000): Promise<void> {
    if (!this.#running) return
    this.#finishing = true
    this.#status = 'Finishing the units in progress before updating…'
    const deadline = Date.now() + timeoutMs
    while (this.#tasks.some((t) => t.phase === 'computing') && Date.now() < deadline) await sleep(100)
    globalThis.sessionStorage?.setItem(RESUME_AFTER_UPDATE, '1')
    await this.stop()
    this.#finishing = false
  }

  /** Starts contributing (the person clicked Contribute). */
  async start(): Promise<void> {
    if (this.#running) return
    this.#running = true
    this.#notice = ''
    this.#status = 'Starting…'
    try {
      const key = await ensureDeviceKey()
      this.#connect(key)
      // Peers load in the background: units start from the hub at once and switch to peers when they appear.
      if (this.#settings.peers) void this.#peers?.start(this.#client!, key)
      await this.#chooseBackend()
      // Units leased before (a reload, or the network is gone): compute them first.
      // Those with a checkpoint resume from it, and their progress bars start where they stopped.
      for (const unit of await listLeases().catch(() => [])) {
        if (!this.#held.has(unit.unitId)) this.#runUnit(unit, await checkpointFraction(unit.unitId).catch(() => 0))
      }
    } catch (error) {
      this.#running = false
      this.#status = ''
      this.#notice = `Could not start: ${error instanceof Error ? error.message : String(error)}`
      return
    }
    this.#kickUploads()
    this.#summaryTimer = setInterval(() => void this.refreshSummary(), 2000)
    this.#schedulePump(0)
  }

  /**
   * Stops computing within a second; leased units not finished are left for the hub to re-issue. The status says
   * "Stopping…" until the workers are gone and the units they were on have settled (a unit whose kernel finished in
   * the cancel window still stores its result: nothing computed is lost), then "Stopped".
   */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    const epoch = ++this.#epoch
    clearTimeout(this.#pumpTimer)
    clearInterval(this.#summaryTimer)
    this.#status = 'Stopping…'
    this.#tasks = []
    const pool = this.#pool
    this.#pool = undefined
    this.#held.clear()
    this.#peers?.setJobs([])
    void this.#peers?.stop()
    // The last summary may have been taken while results were still being verified or credited; a fresh one keeps
    // looking until they are (see refreshSummary), so the credit shown does not stop short of what was earned.
    void this.refreshSummary()
    // Kernels check for cancellation every few ms; a worker that does not answer in 500 ms is terminated.
    await pool?.cancelAll(500)
    pool?.terminate()
    // A unit still fetching its inputs gives up once its fetch answers (retries stop with the Stop); one that waits on
    // a hub that never answers does not hold the status up past STOP_SETTLE_MS.
    const inFlight = [...this.#inFlight]
    await Promise.race([Promise.allSettled(inFlight), new Promise((resolve) => setTimeout(resolve, STOP_SETTLE_MS))])
    // A Start (and perhaps another Stop) while this Stop waited owns the status now.
    if (!this.#running && epoch === this.#epoch) this.#status = 'Stopped'
  }

  /** Applies a new worker count (the slider) while running. */
  setWorkers(count: number): void {
    this.#settings.workers = count
    if (this.#pool && this.#backend?.kind === 'cpu') {
      this.#pool.resize(this.#settings.workers)
      this.#backend = { kind: 'cpu', label: cpuLabel(this.#settings.workers) }
      this.#schedulePump(0)
    }
  }

  /** The governor's throttle: at most `workers` compute, each `duty` of the time; takes effect within a slice. */
  throttle(workers: number, duty: number): void {
    this.#throttle = { workers, duty }
    this.#pool?.throttle(workers, duty)
  }

  /**
   * Fetches this device's counts and verified credit from the hub. One fetch at a time: a call while one is under way
   * fetches once more after it. (Each acknowledged result asks for one; concurrent fetches could answer out of order,
   * and a summary taken before the last upload, arriving last, stayed on the page: one result short, and no result
   * left "being verified" to look again for.)
   */
  refreshSummary(): Promise<void> {
    if (this.#summaryRun) {
      this.#summaryAgain = true
      return this.#summaryRun
    }
    this.#summaryRun = (async () => {
      do {
        this.#summaryAgain = false
        await this.#fetchSummary()
      } while (this.#summaryAgain)
    })().finally(() => (this.#summaryRun = undefined))
    return this.#summaryRun
  }

  async #fetchSummary(): Promise<void> {
    if (!this.#client) return
    try {
      this.#summary = await this.#client.summary()
      this.#hubReachable = true
    } catch (error) {
      // Offline or hub down: keep showing the last known totals.
      if (error instanceof MeshworkError && error.code === 'network') this.#hubReachable = false
      return
    }
    // Results still being verified or credited: look again soon, even when not contributing (uploads after a reload).
    if (this.#summary.results.returned + this.#summary.crediting > 0 && !this.#running) {
      clearTimeout(this.#verifyTimer)
      this.#verifyTimer = setTimeout(() => void this.refreshSummary(), 1000)
    }
  }

  #connect(key: Awaited<ReturnType<typeof ensureDeviceKey>>): void {
    if (this.#client) return
    this.#client = new HubClient(key, { baseUrl: this.#baseUrl, partner: this.#partner })
    this.#io = new IoWorker(this.#baseUrl)
  }

  /** Uploads the outbox now (in the I/O worker), starting its uploader the first time. */
  #kickUploads(): void {
    const io = this.#io
    if (!io) return
    this.#uploadsStarted ??= io.startUploads(this.#partner, (event) => this.#onUpload(event)).then((started) => {
      // No device key yet (nothing was ever computed here): the next kick, after the first Contribute, tries again.
      if (!started) this.#uploadsStarted = undefined
      return started
    })
    void this.#uploadsStarted.then((started) => started && io.kickUploads())
  }

  #onUpload({ waiting, acked, dropped }: UploadEvent): void {
    this.#waiting = waiting
    if (acked) this.#hubReachable = true
    if (acked) void this.refreshSummary()
    if (dropped) this.#notice = `The hub refused a result for unit ${dropped.unitId}: ${dropped.reason}`
  }

  async #chooseBackend(): Promise<void> {
    const choice = this.#settings.backend
    this.#pool = new WorkerPool(0)
    this.#pool.throttle(this.#throttle.workers, this.#throttle.duty)
    if (choice !== 'cpu') {
      const gpu = await this.#pool.probeGpu().catch(() => undefined)
      const usable = gpu?.available && (choice === 'webgpu' || !gpu.isFallbackAdapter)
      if (usable) {
        this.#backend = { kind: 'webgpu', label: `WebGPU: ${gpu!.name}${gpu!.isFallbackAdapter ? ' (software)' : ''}` }
        // One GPU task at a time keeps the GPU busy; more would only queue on the same device.
        this.#pool.resize(1)
        return
      }
      if (choice === 'webgpu') this.#notice = `WebGPU is not available (${gpu?.reason ?? 'probe failed'}); using the CPU.`
    }
    this.#backend = { kind: 'cpu', label: cpuLabel(this.#settings.workers) }
    this.#pool.resize(this.#settings.workers)
  }

  /**
   * How to split a unit over every worker, when that is worth it: a CPU unit of a workload that splits (matmul, by
   * rows), while it is the only unit this page holds (a job's last unit, or a job of one large unit) and the governor
   * lets more than one worker compute. Otherwise undefined: one unit per worker keeps every core busy already.
   */
  #splitAcross(unit: LeasedUnit, backend: Backend, pool: WorkerPool): TaskSplit | undefined {
    const split = SPLITS[unit.workload]
    if (!split || backend !== 'cpu' || this.#held.size !== 1) return undefined
    return Math.min(pool.size, this.#throttle.workers) > 1 ? split : undefined
  }

  /** Leaves the GPU for the CPU (after the GPU failed twice on a unit): CPU workers, CPU units from now on. */
  #useCpu(): void {
    if (this.#backend?.kind !== 'webgpu' || !this.#pool) return
    this.#backend = { kind: 'cpu', label: cpuLabel(this.#settings.workers) }
    this.#pool.resize(this.#settings.workers)
  }

  /** Units to hold (computing plus ready to compute): two per worker, so a short outage does not idle the pool. */
  #capacity(): number {
    return 2 * (this.#pool?.size ?? 0)
  }

  #schedulePump(delayMs: number): void {
    clearTimeout(this.#pumpTimer)
    this.#pumpTimer = setTimeout(() => void this.#pump(), delayMs)
  }

  async #pump(): Promise<void> {
    if (this.#pumping || !this.#running || !this.#client || this.#finishing) return
    this.#pumping = true
    try {
      const want = this.#capacity() - this.#held.size
      if (want <= 0) return
      const backends: Backend[] = this.#backend?.kind === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu']
      let units: LeasedUnit[]
      let refusal: string | undefined
      try {
        ;({ units, reason: refusal } = await this.#client.lease(Math.min(want, 16), backends))
        this.#leaseBackoff = 1000
        this.#hubReachable = true
      } catch (error) {
        if (error instanceof MeshworkError && error.code === 'network') this.#hubReachable = false
        this.#status = this.#online ? `Hub unreachable, retrying (${describe(error)})` : 'Offline: finishing leased units'
        this.#schedulePump(Math.max(this.#leaseBackoff, error instanceof MeshworkError ? (error.retryAfterMs ?? 0) : 0))
        this.#leaseBackoff = Math.min(30_000, this.#leaseBackoff * 2)
        return
      }
      // Durable before computing: a reload or a lost network keeps these units (see storage/leases.ts).
      await putLeases(units).catch(() => undefined)
      if (!this.#running) return
      if (!units.length) {
        // The hub says why when it is not simply out of work (this device's daily quota is used up).
        this.#status = this.#held.size ? '' : (refusal ?? 'No work available right now; checking again shortly')
        this.#schedulePump(refusal ? 60_000 : 3000)
        return
      }
      this.#status = ''
      for (const unit of units) this.#runUnit(unit)
      if (this.#held.size < this.#capacity()) this.#schedulePump(0)
    } finally {
      this.#pumping = false
    }
  }

  /** @param resumeAt the progress of its last checkpoint (0 to 1), where its bar starts. @default 0 */
  #runUnit(unit: LeasedUnit, resumeAt = 0): void {
    this.#held.set(unit.unitId, unit)
    this.#peers?.setJobs(new Set([...this.#held.values()].map((u) => u.jobId)))
    this.#tasks.push({ unitId: unit.unitId, jobId: unit.jobId, workload: unit.workload, costFlops: unit.costFlops, phase: 'fetching', progress: resumeAt, cores: 1 })
    const epoch = this.#epoch
    const computing = this.#compute(unit, epoch).finally(() => {
      this.#inFlight.delete(computing)
      // After a Stop, a later Start owns this unit's place in the lists (if it runs the unit again).
      if (epoch !== this.#epoch) return
      this.#held.delete(unit.unitId)
      this.#tasks = this.#tasks.filter((t) => t.unitId !== unit.unitId)
      if (this.#running) this.#schedulePump(0)
    })
    this.#inFlight.add(computing)
  }

  #task(unitId: string): TaskView | undefined {
    return this.#tasks.find((t) => t.unitId === unitId)
  }

  async #compute(unit: LeasedUnit, epoch: number): Promise<void> {
    const io = this.#io!
    let inputs: Blob[]
    try {
      const fromHub = (h: string) => retry(() => io.fetchInput(h), () => this.#running)
      const load = this.#peers ? async (h: string) => (await this.#peers!.input(h, unit.unitId, fromHub)).data : fromHub
      inputs = await Promise.all(unit.inputs.map((hash) => this.#cache.get(hash, load)))
    } catch (error) {
      this.#notice = `Could not fetch the inputs of unit ${unit.unitId}: ${describe(error)}`
      if (error instanceof MeshworkError && !error.transient) await deleteLease(unit.unitId).catch(() => undefined)
      return
    }
    const pool = this.#pool
    if (!this.#running || !pool || this.#finishing || epoch !== this.#epoch) return
    if (unit.deadline <= Date.now()) {
      // Too late: the hub has re-issued it to someone else.
      await deleteLease(unit.unitId).catch(() => undefined)
      return
    }
    const task = this.#task(unit.unitId)
    if (task) task.phase = 'queued'
    let backend = this.#backend?.kind ?? 'cpu'
    const taskId = `${unit.unitId}:${crypto.randomUUID()}`
    const hooks = {
      onStart: () => {
        const t = this.#task(unit.unitId)
        if (t) t.phase = 'computing'
      },
      onProgress: (fraction: number) => {
        const t = this.#task(unit.unitId)
        if (t) t.progress = fraction
      },
    }
    const inputHashes = unit.inputs
    const checkpoint = { key: unit.unitId, everyMs: CHECKPOINT_EVERY_MS }
    const split = this.#splitAcross(unit, backend, pool)
    let outcome
    if (split) {
      // A lone unit and idle workers: every allowed core computes it, by rows (no checkpoints for split units).
      const bytes = await Promise.all(inputs.map(async (input) => new Uint8Array(await input.arrayBuffer())))
      const t = this.#task(unit.unitId)
      if (t) t.cores = Math.min(pool.size, this.#throttle.workers)
      outcome = await pool.runAcross({ taskId, workload: unit.workload, spec: unit.spec, inputs: bytes, backend }, split, hooks)
    } else {
      outcome = await pool.run({ taskId, workload: unit.workload, spec: unit.spec, inputs, inputHashes, backend, checkpoint, outputAs: 'blob' }, hooks)
    }
    if (!outcome.ok && outcome.code === 'compute_failed' && backend === 'webgpu' && this.#running) {
      // The worker already recreated the device once: a GPU that fails twice is not trusted again this session.
      this.#notice = `The GPU failed on unit ${unit.unitId} (${outcome.message}); contributing goes on on the CPU.`
      this.#useCpu()
      backend = 'cpu'
      outcome = await pool.run({ taskId: `${taskId}:cpu`, workload: unit.workload, spec: unit.spec, inputs, inputHashes, backend, checkpoint, outputAs: 'blob' }, hooks)
    }
    if (!outcome.ok) {
      if (outcome.code !== 'cancelled') {
        this.#notice = `Unit ${unit.unitId} failed: ${outcome.message}`
        await deleteLease(unit.unitId).catch(() => undefined)
      }
      return
    }
    // Durable before anything else: the result is in IndexedDB (and the unit out of the lease buffer) before the
    // upload starts.
    await completeLease({
      resultId: crypto.randomUUID(),
      unitId: unit.unitId,
      jobId: unit.jobId,
      workload: unit.workload,
      // A Blob (the worker made it, or a split unit's joined bytes): IndexedDB keeps it without cloning the bytes on the
      // main thread (a long task for megabytes).
      output: outcome.output instanceof Blob ? outcome.output : new Blob([outcome.output as Uint8Array<ArrayBuffer>]),
      elapsedMs: outcome.elapsedMs,
      backend: outcome.backend,
      costFlops: unit.costFlops,
      createdAt: Date.now(),
      attempts: 0,
      ...(this.#partner ? { partner: this.#partner } : {}),
    })
    this.#completed += 1
    this.#waiting += 1
    this.#kickUploads()
    // Offline: the service worker uploads it on Background Sync even if this page is closed first.
    if (!this.#online) void requestOutboxSync()
  }
}

/** "CPU (WASM SIMD) × 2 workers": which CPU kernel the workers run (the JS one where WebAssembly SIMD is missing). */
function cpuLabel(workers: number): string {
  return `CPU (${cpuKernelLabel()}) × ${workers} worker${workers === 1 ? '' : 's'}`
}

function describe(error: unknown): string {
  return error instanceof MeshworkError ? error.shortMessage : error instanceof Error ? error.message : String(error)
}

/** Retries a transient failure with backoff while `keepGoing()` holds. */
async function retry<T>(operation: () => Promise<T>, keepGoing: () => boolean): Promise<T> {
  let delay = 500
  for (;;) {
    try {
      return await operation()
    } catch (error) {
      const transient = !(error instanceof MeshworkError) || error.transient
      if (!transient || !keepGoing()) throw error
      await sleep(delay)
      delay = Math.min(10_000, delay * 2)
    }
  }
}
