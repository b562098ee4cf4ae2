/**
 * A pool of module Web Workers driven through comlink. Tasks wait for an idle worker; shrinking retires busy workers
 * once their task ends; `terminate()` ends everything at once (what Stop falls back to when a kernel does not yield).
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink'
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
}

export interface RunHooks {
  /** Called when a worker picks the task up. */
  onStart?: () => void
  onProgress?: (fraction: number) => void
}

/** Creates the compute worker (the default is Meshwork's own worker script). */
export type WorkerFactory = () => Worker

const defaultFactory: WorkerFactory = () =>
  new Worker(new URL('../../../workers/compute.worker.ts', import.meta.url), { type: 'module', name: 'meshwork-compute' })

export class WorkerPool {
  #slots: Slot[] = []
  #queue: Waiting[] = []
  #running = new Map<string, { slot: Slot; resolve: (o: ComputeOutcome) => void }>()
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
    return new Promise((resolve) => {
      this.#queue.push({ task, hooks, resolve })
      this.#dispatch()
    })
  }

  /** Asks a task to stop; a queued task is dropped at once. */
  cancel(taskId: string): void {
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
      const { task, hooks, resolve } = this.#queue.shift()!
      slot.taskId = task.taskId
      this.#running.set(task.taskId, { slot, resolve })
      hooks.onStart?.()
      const progress = proxy((fraction: number) => hooks.onProgress?.(fraction))
      slot.api
        .run(task, progress)
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
