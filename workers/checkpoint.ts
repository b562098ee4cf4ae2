/**
 * Checkpoints inside the compute worker: before a CPU kernel starts, the unit's last checkpoint (if any) fills the
 * output array and tells the kernel where to resume; while it runs, the output array is saved to IndexedDB at a slice
 * boundary every `everyMs`. Saving happens here, in the worker, so the page never copies the output.
 */
import { getCheckpoint, putCheckpoint } from '../src/lib/storage/checkpoints.ts'

export interface CheckpointOptions {
  /** The unit's id: one checkpoint per unit. */
  key: string
  /** Shortest time between two saves, in ms. */
  everyMs: number
}

export interface Checkpoints {
  /** Rows or blocks already in the output array from the last checkpoint (0 without one). */
  resumeAt: number
  /** The kernel's slice hook: saves when `everyMs` has passed since the last save. */
  onSlice(done: number): void
  /** Resolves once the last save has landed (before the outcome goes back, so none lands after the unit is done). */
  flush(): Promise<void>
}

/**
 * Loads a checkpoint into `output` (a view of the kernel's output array) when one matches this very unit (workload,
 * spec, size), and returns the hooks that save new ones. Storage errors never fail a unit: it then runs without.
 */
export async function openCheckpoints(
  options: CheckpointOptions,
  unit: { workload: string; spec: Record<string, unknown> },
  output: Uint8Array,
  total: number,
): Promise<Checkpoints> {
  const spec = JSON.stringify(unit.spec)
  let resumeAt = 0
  const saved = await getCheckpoint(options.key).catch(() => undefined)
  if (saved && saved.workload === unit.workload && saved.spec === spec && saved.total === total && saved.output.size === output.byteLength) {
    if (saved.done > 0 && saved.done <= total) {
      output.set(new Uint8Array(await saved.output.arrayBuffer()))
      resumeAt = saved.done
    }
  }
  let last = performance.now()
  let writing = Promise.resolve()
  return {
    resumeAt,
    onSlice(done) {
      const now = performance.now()
      if (done >= total || now - last < options.everyMs) return
      last = now
      // The copy is taken now, at the slice boundary; the write goes on while the kernel computes.
      const snapshot = new Blob([output.slice() as Uint8Array<ArrayBuffer>])
      writing = writing
        .then(() => putCheckpoint({ unitId: options.key, workload: unit.workload, spec, done, total, output: snapshot, savedAt: Date.now() }))
        .catch((error: unknown) => console.warn(`Meshwork: could not save a checkpoint of ${options.key}: ${(error as Error)?.message ?? error}`))
    },
    flush: () => writing,
  }
}
