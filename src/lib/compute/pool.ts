/**
 * A pool of module Web Workers driven through comlink. Tasks wait for an idle worker; shrinking retires busy workers
 * once their task ends; `terminate()` ends everything at once (what Stop falls back to when a kernel does not yield).
 * `runAcross` splits one task over every worker (all cores on one large unit).
 */
import { proxy, releaseProxy, transfer, wrap, type Remote } from 'comlink'
import type { ComputeOutcome, ComputeTask, ComputeWorkerApi, GpuProbe } from '../../../workers/protocol.ts'

interface Slot {
  worker: Worker
  api: Remote<ComputeWorkerApi>
  taskId: string | null
  retiring: boolean
}

interface Waiting {
  task: ComputeTask
  hooks: RunHooks
  resolve: (outcome: ComputeOutcome) => void
  /** The task's input buffers move to the worker instead of being copied (runAcross, whose parts own theirs). */
  handOver?: boolean
}

export interface RunHooks {
  /** Called when a worker picks the task up. */
  onStart?: () => void
  onProgress?: (fraction: number) => void
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
  #running = new Map<string, { slot: Slot; resolve: (o: ComputeOutcome) => void }>()
  /** Tasks run by runAcross: task id -> its parts' task ids, so cancel(taskId) reaches every part. */
  #split = new Map<string, string[]>()
  #target = 0
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
      const slot: Slot = { worker, api: wrap<ComputeWorkerApi>(worker), taskId: null, retiring: false }
      this.#slots.push(slot)
      live.push(slot)
    }
    for (const slot of live.slice(this.#target).reverse()) {
      slot.retiring = true
      if (!slot.taskId) this.#retire(slot)
    }
    this.#dispatch()
  }

  /** Runs a task on the next idle worker. Never rejects: failures come back as `{ ok: false }`. */
  run(task: ComputeTask, hooks: RunHooks = {}): Promise<ComputeOutcome> {
    return this.#enqueue(task, hooks, false)
  }

  #enqueue(task: ComputeTask, hooks: RunHooks, handOver: boolean): Promise<ComputeOutcome> {
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
   * Each part's inputs are moved to its worker, not copied by structured clone (which copies twice and ran at a
   * third of the speed for 8 MB of inputs): an input buffer a part shares with the task or an earlier part (B for
   * matmul) is copied for it first, so the caller's buffers stay usable.
   */
  async runAcross(task: ComputeTask, how: TaskSplit, hooks: RunHooks = {}): Promise<ComputeOutcome> {
    const taken = new Set<ArrayBufferLike>(task.inputs.map((input) => input.buffer))
    const own = (input: Uint8Array) => {
      if (taken.has(input.buffer)) return input.slice()
      taken.add(input.buffer)
      return input
    }
    const pieces = how.split(task.spec, task.inputs, Math.max(1, this.#target))
    const ids = pieces.map((_, i) => `${task.taskId}#${i}`)
    const fractions = pieces.map(() => 0)
    let started: number | undefined
    this.#split.set(task.taskId, ids)
    // Each part is posted before the next one's inputs are copied, so the first worker starts at once.
    const outcomes = await Promise.all(
      pieces.map(async (piece, i) => {
        const part = { ...task, spec: piece.spec, inputs: piece.inputs.map(own), taskId: ids[i] }
        const hooksOfPart: RunHooks = {
          onStart: () => {
            if (started === undefined) hooks.onStart?.()
            started ??= performance.now()
          },
          onProgress: (fraction) => {
            fractions[i] = fraction
            hooks.onProgress?.(fractions.reduce((sum, f) => sum + f, 0) / pieces.length)
          },
        }
        const outcome = await this.#enqueue(part, hooksOfPart, true)
        if (!outcome.ok) for (const other of ids) if (other !== part.taskId) this.cancel(other)
        return outcome
      }),
    )
    this.#split.delete(task.taskId)
    // The first failure that is not a cancellation caused by another part's failure explains best what went wrong.
    const failed = outcomes.find((o) => !o.ok && o.code !== 'cancelled') ?? outcomes.find((o) => !o.ok)
    if (failed) return failed
    const done = outcomes as Extract<ComputeOutcome, { ok: true }>[]
    return {
      ok: true,
      output: how.join(done.map((o) => o.output)),
      elapsedMs: performance.now() - (started ?? performance.now()),
      backend: done[0].backend,
      kernel: done[0].kernel,
    }
  }

  /** Asks a task to stop; a queued task is dropped at once. */
  cancel(taskId: string): void {
    const parts = this.#split.get(taskId)
    if (parts) {
      for (const part of parts) this.cancel(part)
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
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (!this.#queue.length) return
      if (slot.taskId || slot.retiring) continue
      const { task, hooks, resolve, handOver } = this.#queue.shift()!
      slot.taskId = task.taskId
      this.#running.set(task.taskId, { slot, resolve })
      hooks.onStart?.()
      const progress = proxy((fraction: number) => hooks.onProgress?.(fraction))
      slot.api
        .run(handOver ? transfer(task, [...new Set(task.inputs.map((input) => input.buffer))]) : task, progress)
        .catch((error: unknown): ComputeOutcome => ({ ok: false, code: 'compute_failed', message: String(error) }))
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
