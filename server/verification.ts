/**
 * How the hub decides what credit is earned (issue 7): replicas and their independence, adaptive replication,
 * known-answer spot checks, daily quotas, the fastest plausible device and the hourly cap. Read from the environment by
 * `verificationFromEnv`; every field has a default that suits a public hub.
 */
import { DEFAULT_MAX_DEVICE_FLOPS_PER_MS } from './loops/validator.ts'

export interface VerificationOptions {
  /**
   * Let replicas of a unit go to devices on the same network (IPv4 /24, IPv6 /48). Off on a public hub: a cheater's
   * devices usually share one. On for a hub whose volunteers all call from one place (tests on one machine, or a
   * hub behind a proxy that hides their addresses). @default false
   */
  replicasSameNetwork?: boolean
  /** Units a device may lease per UTC day; each invalid result halves its own quota, each valid one doubles it back. @default 10000 */
  dailyQuota?: number
  /**
   * Consecutive valid results (per workload version) after which a device may get units of a replicated workload
   * without replicas, with a probability growing with its record (1 − trustAfter / streak, at most 0.95). 0: always
   * replicate. @default 10
   */
  trustAfter?: number
  /** Fraction of the units of workloads that can compute their own answer (`solve`) that are known-answer spot checks. @default 0.02 */
  spotCheckFraction?: number
  /** The fastest any device computes, flops per ms: faster results are invalid, and no device is credited more per hour. @default 1e11 (100 TFLOP/s) */
  maxDeviceFlopsPerMs?: number
}

export const DEFAULT_VERIFICATION: Required<VerificationOptions> = {
  replicasSameNetwork: false,
  dailyQuota: 10_000,
  trustAfter: 10,
  spotCheckFraction: 0.02,
  maxDeviceFlopsPerMs: DEFAULT_MAX_DEVICE_FLOPS_PER_MS,
}

/** Most units a device holds at once (LeaseRequest.max x a few requests in flight): the hourly cap's concurrency. */
const UNITS_IN_FLIGHT = 64

/**
 * The most compute credit a device may earn in an hour: what its measured speed allows (flops per ms from lease to
 * result, which counts one unit at a time, times the units it may hold at once), never more than the fastest device.
 */
export function hourlyCapFlops(measuredFlopsPerMs: number | null, maxDeviceFlopsPerMs: number): number {
  const speed = measuredFlopsPerMs === null ? maxDeviceFlopsPerMs : Math.min(maxDeviceFlopsPerMs, measuredFlopsPerMs * UNITS_IN_FLIGHT)
  return speed * 3_600_000
}
