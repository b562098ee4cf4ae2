/**
 * The credit loop: every valid result earns one append-only ledger row worth the unit's cost in flops, as the
 * workload's cost model computed it when the job was split (never what the client claims), and a job whose units are
 * all done is marked done.
 */
import type { Decision, DeviceCreditWindow, LedgerAppend, Store } from '../store/types.ts'
import { hourlyCapFlops } from '../verification.ts'
import { DEFAULT_MAX_DEVICE_FLOPS_PER_MS } from './validator.ts'
import { createLoop, type Loop } from './loop.ts'

export interface CreditResultsOptions {
  /** Most results credited per pass (one ledger transaction: bigger passes write each touched page once). @default 1024 */
  batch?: number
  /** @default Date.now() */
  now?: number
  /** The fastest plausible device (flops per ms), for the hourly cap. @default DEFAULT_MAX_DEVICE_FLOPS_PER_MS */
  maxDeviceFlopsPerMs?: number
}

export interface CreditResultsReturnType {
  credited: number
  /** Jobs that turned done in this pass. */
  completedJobs: string[]
}

/** Credits valid results that have no ledger row yet and completes finished jobs. */
export async function creditResults(
  store: Store,
  { batch = 1024, now = Date.now(), maxDeviceFlopsPerMs = DEFAULT_MAX_DEVICE_FLOPS_PER_MS }: CreditResultsOptions = {},
): Promise<CreditResultsReturnType> {
  const candidates = await store.uncreditedResults(batch)
  // The hourly cap: what each device earned in the last hour, plus this pass, stays within what its speed allows.
  const window = new Map<string, { left: number }>()
  const entries: LedgerAppend[] = []
  const decisions: Decision[] = []
  const earned = candidates.length ? await store.creditSince(candidates.map((c) => c.deviceId), now - 3_600_000) : new Map<string, DeviceCreditWindow>()
  for (const c of candidates) {
    let w = window.get(c.deviceId)
    if (!w) {
      const { creditFlops = 0, flopsPerMs = null } = earned.get(c.deviceId) ?? {}
      w = { left: hourlyCapFlops(flopsPerMs, maxDeviceFlopsPerMs) - creditFlops }
      window.set(c.deviceId, w)
    }
    const amount = Math.max(0, Math.min(c.costFlops, w.left))
    w.left -= amount
    entries.push({ resultId: c.resultId, deviceId: c.deviceId, amountFlops: amount })
    decisions.push({
      at: now,
      deviceId: c.deviceId,
      unitId: c.unitId,
      resultId: c.resultId,
      kind: 'credit',
      message:
        amount === c.costFlops
          ? `Credited ${c.costFlops} flops, the unit's cost.`
          : `Credited ${amount} of the unit's ${c.costFlops} flops: the device reached its hourly cap (what its measured speed allows).`,
    })
  }
  const credited = entries.length ? await store.appendLedger(entries, now) : 0
  if (decisions.length) await store.recordDecisions(decisions)
  const completedJobs = await store.completeJobs(now)
  return { credited, completedJobs }
}

export interface CreditLoopOptions {
  /** @default 200 */
  intervalMs?: number
  maxDeviceFlopsPerMs?: number
  /** Called with the ids of jobs that just turned done. */
  onJobsDone?: (jobIds: string[]) => void
  onError?: (error: unknown) => void
}

/** The credit loop. */
export function createCreditLoop(store: Store, { intervalMs = 200, maxDeviceFlopsPerMs, onJobsDone, onError }: CreditLoopOptions = {}): Loop {
  return createLoop({
    name: 'credit',
    intervalMs,
    onError,
    run: async () => {
      const { credited, completedJobs } = await creditResults(store, { now: Date.now(), ...(maxDeviceFlopsPerMs ? { maxDeviceFlopsPerMs } : {}) })
      if (completedJobs.length) onJobsDone?.(completedJobs)
      return credited
    },
  })
}
