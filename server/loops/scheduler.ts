/**
 * The scheduler: hands units to devices (`unsent -> leased`, with a deadline) and, as a loop, puts units whose lease
 * ran out back to `unsent` so job progress shows them as waiting again. Leasing itself also takes expired units
 * directly, so a unit is re-issued even between two passes of the loop.
 */
import type { LeasedUnit, Backend } from '../../protocol/schemas.ts'
import type { LeaseUnitsParameters, Store } from '../store/types.ts'
import { createLoop, type Loop } from './loop.ts'

export interface LeaseWorkParameters extends Pick<LeaseUnitsParameters, 'independentNetworks' | 'dailyQuota' | 'trust'> {
  deviceId: string
  max: number
  /** Backends the device can run. Every workload today runs on both, so this does not filter yet. */
  backends: Backend[]
  /** How long the device has to return each unit. */
  leaseMs: number
  /** The partner site whose widget asks (recorded on the lease, and on the results through it). */
  partner?: string
  /** @default Date.now() */
  now?: number
}

/** Leases up to `max` units to a device: oldest job first, never a unit it already returned a result for. */
export async function leaseWork(store: Store, { leaseMs, now = Date.now(), ...rest }: LeaseWorkParameters): Promise<LeasedUnit[]> {
  const units = await store.leaseUnits({ ...rest, now, deadline: now + leaseMs })
  return units.map((u) => ({
    unitId: u.id,
    jobId: u.jobId,
    workload: u.workload,
    version: u.version,
    spec: u.spec,
    inputs: u.inputs,
    costFlops: u.costFlops,
    deadline: u.deadline!,
  }))
}

/**
 * Why a device that got no units got none, when it is not simply that there is no work: its daily quota is used up.
 * The refusal is written to the device's decision log (once per lease request that meets it).
 */
export async function leaseRefusal(store: Store, deviceId: string, now: number, dailyQuota: number): Promise<string | undefined> {
  const { quota, leasedToday } = await store.deviceQuota(deviceId, now, dailyQuota)
  if (leasedToday < quota) return undefined
  const reason =
    quota < dailyQuota
      ? `This device's daily quota of ${quota} units is used up; it was lowered after invalid results and grows back with valid ones. More work tomorrow (UTC).`
      : `This device's daily quota of ${quota} units is used up. More work tomorrow (UTC).`
  await store.recordDecisions([{ at: now, deviceId, unitId: null, resultId: null, kind: 'quota', message: reason }])
  return reason
}

/** Puts units whose lease deadline passed back to `unsent`; returns how many. */
export function expireLeases(store: Store, now = Date.now()): Promise<number> {
  return store.expireLeases(now)
}

export interface SchedulerLoopOptions {
  /** @default 1000 */
  intervalMs?: number
  onError?: (error: unknown) => void
}

/** The lease-expiry loop. */
export function createSchedulerLoop(store: Store, { intervalMs = 1000, onError }: SchedulerLoopOptions = {}): Loop {
  return createLoop({ name: 'scheduler', intervalMs, onError, run: () => expireLeases(store) })
}
