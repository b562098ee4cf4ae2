/**
 * The credit loop: every valid result earns one append-only ledger row worth the unit's cost in flops, as the
 * workload's cost model computed it when the job was split (never what the client claims), and a job whose units are
 * all done is marked done.
 */
import type { Store } from '../store/types.ts'
import { createLoop, type Loop } from './loop.ts'

export interface CreditResultsOptions {
  /** Most results credited per pass. @default 256 */
  batch?: number
  /** @default Date.now() */
  now?: number
}

export interface CreditResultsReturnType {
  credited: number
  /** Jobs that turned done in this pass. */
  completedJobs: string[]
}

/** Credits valid results that have no ledger row yet and completes finished jobs. */
export async function creditResults(store: Store, { batch = 256, now = Date.now() }: CreditResultsOptions = {}): Promise<CreditResultsReturnType> {
  const candidates = await store.uncreditedResults(batch)
  const credited = candidates.length
    ? await store.appendLedger(
        candidates.map((c) => ({ resultId: c.resultId, deviceId: c.deviceId, amountFlops: c.costFlops })),
        now,
      )
    : 0
  const completedJobs = await store.completeJobs(now)
  return { credited, completedJobs }
}

export interface CreditLoopOptions {
  /** @default 200 */
  intervalMs?: number
  /** Called with the ids of jobs that just turned done. */
  onJobsDone?: (jobIds: string[]) => void
  onError?: (error: unknown) => void
}

/** The credit loop. */
export function createCreditLoop(store: Store, { intervalMs = 200, onJobsDone, onError }: CreditLoopOptions = {}): Loop {
  return createLoop({
    name: 'credit',
    intervalMs,
    onError,
    run: async () => {
      const { credited, completedJobs } = await creditResults(store)
      if (completedJobs.length) onJobsDone?.(completedJobs)
      return credited
    },
  })
}
