/**
 * A pool of module Web Workers driven through comlink. Tasks wait for an idle worker; shrinking retires busy workers
 * once their task ends; `terminate()` ends everything at once (what Stop falls back to when a kernel does not yield).
 * `runAcross` splits one task over every worker (all cores on one large unit).
 */
import { proxy, releaseProxy, transfer, wrap, type Remote } from 'comlink'
import type { ComputeOutcome, ComputeTask, ComputeWorkerApi, GpuProbe } from '../../../workers/protocol.ts'
import { wasmSimdLevel } from '../../../workers/wasm-features.ts'

interface Slot {
  worker: Worker
  api: Remote<ComputeWorkerApi>
  taskId: string | null
  retiring: boolean
  /** The duty last sent to this worker (see throttle). */
  duty: number
}

interface Waiting {
  task: ComputeTask
  hooks: RunHooks
  resolve: (outcome: ComputeOutcome<Uint8Array | Blob>) => void
  /** The task's input buffers move to the worker instead of being copied (runAcross's parts). */
  handOver?: boolean
}

export interface RunHooks {
  /** Called when a worker picks the task up. */
  onStart?: () => void
  onProgress?: (fraction: number) => void
  /** Receives the task's input buffers back from the worker once its kernel reads them no more (see runAcross). */
  onInputsFree?: (inputs: Uint8Array[]) => void
}

/** A task runAcross split: its parts' ids, and whether it was cancelled (parts not started yet then never start). */
interface SplitTask {
  ids: string[]
  stopped: boolean
}

/**
 * How a workload's task splits into independent parts and how their outputs join (for matmul: row blocks of A and
 * C, `matmulRowSplit` in workloads/matmul/split.ts).
 */
export interface TaskSplit {
  /** At most `parts` (spec, inputs) pairs that together compute the task's output. */
  split(spec: Record<string, unknown>, inputs: Uint8Array[], parts: number): { spec: Record<string, unknown>; inputs: Uint8Array[] }[]
  /** The task's output from its parts' outputs, in split order. */
  join(outputs: Uint8Array[]): Uint8Array
}

/** Creates the compute worker (the default is Meshwork's own worker script). */
export type WorkerFactory = () => Worker

const defaultFactory: WorkerFactory = () =>
  new Worker(new URL('../../../workers/compute.worker.ts', import.meta.url), { type: 'module', name: 'meshwork-compute' })

export class WorkerPool {
  #slots: Slot[] = []
  #queue: Waiting[] = []
  #running = new Map<string, { slot: Slot; resolve: (o: ComputeOutcome<Uint8Array | Blob>) => void }>()
  /** Tasks run by runAcross, so cancel(taskId) reaches every part, started or not. */
  #split = new Map<string, SplitTask>()
  #target = 0
  /** The governor's throttle: workers that may compute, and their duty (see throttle). */
  #active = Infinity
  #duty = 1
  readonly #factory: WorkerFactory

  constructor(size: number, factory: WorkerFactory = defaultFactory) {
    this.#factory = factory
    this.resize(size)
  }

  /** Workers the pool aims to keep. */
  get size(): number {
    return this.#target
  }

  /** Tasks currently executing in a worker. */
  get busy(): number {
    return this.#running.size
  }

  /** Sets the number of workers; extra busy workers finish their task first. */
  resize(size: number): void {
    this.#target = Math.max(0, Math.floor(size))
    let live = this.#slots.filter((s) => !s.retiring)
    while (live.length < this.#target) {
      const worker = this.#factory()
      const slot: Slot = { worker, api: wrap<ComputeWorkerApi>(worker), taskId: null, retiring: false, duty: 1 }
      this.#slots.push(slot)
      live.push(slot)
    }
    for (const slot of live.slice(this.#target).reverse()) {
      slot.retiring = true
      if (!slot.taskId) this.#retire(slot)
    }
    this.#applyThrottle()
    this.#dispatch()
  }

  /**
   * The governor's throttle: at most `workers` workers compute, each `duty` of the time (0 to 1). The others pause at
   * their next slice, keeping their task and its progress, and take no new task until allowed again. Takes effect
   * within a slice (a few ms). `throttle(Infinity, 1)` lifts it.
   */
  throttle(workers: number, duty: number): void {
    this.#active = Math.max(0, Math.floor(workers))
    this.#duty = duty > 0 ? Math.min(1, duty) : 0
    this.#applyThrottle()
    this.#dispatch()
  }

  /** Workers computing now: busy and allowed to by the throttle. */
  get computing(): number {
    return this.#slots.filter((s, i) => s.taskId && s.duty > 0 && i < this.#active).length
  }

  #applyThrottle(): void {
    this.#slots.forEach((slot, i) => {
      const duty = i < this.#active && this.#duty > 0 ? this.#duty : 0
      if (slot.duty === duty) return
      slot.duty = duty
      void slot.api.setDuty(duty)
    })
  }

  /** Runs a task on the next idle worker. Never rejects: failures come back as `{ ok: false }`. */
  run(task: ComputeTask & { outputAs: 'blob' }, hooks?: RunHooks): Promise<ComputeOutcome<Blob>>
  run(task: ComputeTask, hooks?: RunHooks): Promise<ComputeOutcome>
  run(task: ComputeTask, hooks: RunHooks = {}): Promise<ComputeOutcome<Uint8Array | Blob>> {
    return this.#enqueue(task, hooks, false)
  }

  #enqueue(task: ComputeTask, hooks: RunHooks, handOver: boolean): Promise<ComputeOutcome<Uint8Array | Blob>> {
    return new Promise((resolve) => {
      this.#queue.push({ task, hooks, resolve, handOver })
      this.#dispatch()
    })
  }

  /**
   * Runs one task on every worker at once: `how` splits it into one part per worker (the pool's size), the parts run
   * in parallel and their outputs are joined. Progress is the parts' mean; `elapsedMs` is the wall time from the
   * first part's start to the last part's end. A failed part cancels the others. Never rejects.
   *
   * It takes the task's input buffers: they are detached afterwards (copy them first to keep them). Copies are what
   * limit this in a browser: a fresh 4 MB buffer took 5 ms to fill in Chromium here (page faults), a quarter of the
   * time one worker needs for a whole 512x512x2048 unit. So the first part gets the buffers themselves, its worker
   * hands them back as soon as its kernel has copied them into WebAssembly memory (about a millisecond), the next
   * part gets them then, and so on. Where the parts run the JS kernel, which reads its inputs to the end, every part
   * but the last gets a copy instead.
   */
  async runAcross(task: ComputeTask & { inputs: Uint8Array[] }, how: TaskSplit, hooks: RunHooks = {}): Promise<ComputeOutcome> {
    const taskInputs: Uint8Array[] = task.inputs
    const pieces = how.split(task.spec, taskInputs, Math.max(1, this.#target))
    const group: SplitTask = { ids: pieces.map((_, i) => `${task.taskId}#${i}`), stopped: false }
    this.#split.set(task.taskId, group)
    const handOff = task.backend === 'cpu' && task.cpuKernel !== 'js' && wasmSimdLevel() !== 'none'
    // Where each part's inputs lie in the task's buffers, to view them again on the buffers handed back (taken now:
    // a view of a moved buffer reads as empty).
    const buffers = [...new Set(taskInputs.map((input) => input.buffer))]
    const placesOf = pieces.map((piece) =>
      piece.inputs.map((input) => ({ at: buffers.indexOf(input.buffer), offset: input.byteOffset, length: input.byteLength })),
    )
    // Inputs the split made itself move with their part; one shared by several parts is copied for the later ones.
    const moved = new Set<ArrayBufferLike>()
    const own = (input: Uint8Array) => {
      if (moved.has(input.buffer)) return input.slice()
      moved.add(input.buffer)
      return input
    }
    const fractions = pieces.map(() => 0)
    let started: number | undefined
    let held: Promise<ArrayBufferLike[] | undefined> = Promise.resolve(buffers)

    const runPart = async (i: number, mine: ArrayBufferLike[] | undefined, handOn: (next: ArrayBufferLike[] | undefined) => void): Promise<ComputeOutcome> => {
      const piece = pieces[i]
      if (!mine || group.stopped) {
        handOn(undefined)
        return { ok: false, code: 'cancelled', message: `task ${group.ids[i]} was cancelled before it started` }
      }
      const places = placesOf[i]
      const inputs = piece.inputs.map((input, j) => {
        const { at, offset, length } = places[j]
        if (at < 0) return own(input)
        if (!handOff && i < pieces.length - 1) return input.slice()
        return new Uint8Array(mine[at], offset, length)
      })
      const partHooks: RunHooks = {
        onStart: () => {
          if (started === undefined) hooks.onStart?.()
          started ??= performance.now()
        },
        onProgress: (fraction) => {
          fractions[i] = fraction
          hooks.onProgress?.(fractions.reduce((sum, f) => sum + f, 0) / pieces.length)
        },
        onInputsFree: (back) => {
          const next = [...mine]
          places.forEach(({ at }, j) => at >= 0 && (next[at] = back[j].buffer))
          handOn(next)
        },
      }
      // Parts ask for bytes (no outputAs), which are what join takes.
      const outcome = (await this.#enqueue({ ...task, outputAs: undefined, spec: piece.spec, inputs, taskId: group.ids[i] }, partHooks, true)) as ComputeOutcome
      // A worker that was stopped (or failed to send them) never handed the buffers back: the parts after it cannot
      // start. Otherwise they arrived before the outcome (the worker waits for that).
      if (!outcome.inputsFreed) handOn(undefined)
      if (!outcome.ok) this.cancel(task.taskId)
      return outcome
    }

    const outcomes = await Promise.all(
      pieces.map((_, i) => {
        const previous = held
        let handOn: (next: ArrayBufferLike[] | undefined) => void = () => {}
        const next = new Promise<ArrayBufferLike[] | undefined>((resolve) => (handOn = resolve))
        // Hand-off: part i + 1 waits for part i's buffers. Copies: every part starts at once on the task's buffers.
        if (handOff) {
          held = next
          return previous.then((mine) => runPart(i, mine, handOn))
        }
        return runPart(i, buffers, () => {})
      }),
    )
    this.#split.delete(task.taskId)
    // The first failure that is not a cancellation caused by another part's failure explains best what went wrong.
    const failed = outcomes.find((o) => !o.ok && o.code !== 'cancelled') ?? outcomes.find((o) => !o.ok)
    if (failed && !failed.ok) return { ok: false, code: failed.code, message: failed.message }
    const done = outcomes as Extract<ComputeOutcome, { ok: true }>[]
    return {
      ok: true,
      output: done.length === 1 ? done[0].output : how.join(done.map((o) => o.output)),
      elapsedMs: performance.now() - (started ?? performance.now()),
      backend: done[0].backend,
      kernel: done[0].kernel,
    }
  }

  /** Asks a task to stop; a queued task is dropped at once. */
  cancel(taskId: string): void {
    const group = this.#split.get(taskId)
    if (group) {
      group.stopped = true
      for (const part of group.ids) this.cancel(part)
      return
    }
    const queued = this.#queue.findIndex((w) => w.task.taskId === taskId)
    if (queued >= 0) {
      const [waiting] = this.#queue.splice(queued, 1)
      waiting.resolve({ ok: false, code: 'cancelled', message: `task ${taskId} was cancelled before it started` })
      return
    }
    void this.#running.get(taskId)?.slot.api.cancel(taskId)
  }

  /** Cancels every task; resolves when all have stopped or `graceMs` passed, then terminates stragglers. */
  async cancelAll(graceMs = 500): Promise<void> {
    for (const waiting of this.#queue.splice(0)) waiting.resolve({ ok: false, code: 'cancelled', message: 'stopped' })
    const ids = [...this.#running.keys()]
    for (const id of ids) this.cancel(id)
    const deadline = performance.now() + graceMs
    while (this.#running.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    for (const [id, { slot, resolve }] of this.#running) {
      resolve({ ok: false, code: 'cancelled', message: `task ${id} was stopped` })
      this.#running.delete(id)
      this.#retire(slot)
    }
    this.resize(this.#target)
  }

  /** Asks a worker whether WebGPU is there. */
  async probeGpu(): Promise<GpuProbe> {
    const worker = this.#factory()
    const api = wrap<ComputeWorkerApi>(worker)
    try {
      return await api.probeGpu()
    } finally {
      api[releaseProxy]()
      worker.terminate()
    }
  }

  /** Ends every worker; pending tasks resolve as cancelled. */
  terminate(): void {
    for (const waiting of this.#queue.splice(0)) waiting.resolve({ ok: false, code: 'cancelled', message: 'pool terminated' })
    for (const [id, { resolve }] of this.#running) resolve({ ok: false, code: 'cancelled', message: `task ${id} was stopped` })
    this.#running.clear()
    for (const slot of this.#slots.splice(0)) slot.worker.terminate()
    this.#target = 0
  }

  #retire(slot: Slot): void {
    slot.worker.terminate()
    this.#slots = this.#slots.filter((s) => s !== slot)
    // Slots shift down: the throttle's first `workers` slots may now include one that was paused.
    this.#applyThrottle()
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (!this.#queue.length) return
      if (slot.taskId || slot.retiring || slot.duty === 0) continue
      const { task, hooks, resolve, handOver } = this.#queue.shift()!
      slot.taskId = task.taskId
      this.#running.set(task.taskId, { slot, resolve })
      hooks.onStart?.()
      const progress = proxy((fraction: number) => hooks.onProgress?.(fraction))
      const inputsFree = hooks.onInputsFree && proxy(hooks.onInputsFree)
      slot.api
        .run(handOver ? transfer(task, [...new Set(task.inputs.flatMap((input) => (input instanceof Blob ? [] : [input.buffer as ArrayBuffer])))]) : task, progress, inputsFree)
        .catch((error: unknown): ComputeOutcome<Uint8Array | Blob> => ({ ok: false, code: 'compute_failed', message: String(error) }))
        .then((outcome) => {
          // A terminated task was already resolved by cancelAll/terminate.
          if (this.#running.get(task.taskId)?.slot !== slot) return
          this.#running.delete(task.taskId)
          slot.taskId = null
          resolve(outcome)
          if (slot.retiring) this.#retire(slot)
          this.#dispatch()
        })
    }
  }
}
