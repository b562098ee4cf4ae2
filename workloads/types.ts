/**
 * What a workload is: a descriptor, a generator the hub runs to split a job into units, a CPU kernel (and optionally a
 * WGSL kernel) the workers run, and a verifier the hub runs on each returned result. All pure functions over bytes,
 * so hub, workers and tests share them. Modelled on BOINC's science-app plug points (work generator, `compare_results`).
 */
import type { z } from 'zod'

/** Inputs and outputs travel as content-addressed byte blobs. */
export interface GeneratedUnit<Spec> {
  spec: Spec
  /** Hashes of the blobs this unit reads, in the order its kernel expects them. */
  inputs: string[]
  costFlops: number
}

export interface GeneratedJob<Spec> {
  /** Every blob any unit reads, keyed by its SHA-256 hex. */
  blobs: Map<string, Uint8Array>
  units: GeneratedUnit<Spec>[]
}

/**
 * Verdict of a verifier. `reason` is shown to the volunteer, so it names what was wrong. `note` (optional) says how a
 * valid result was checked when that is weaker than a full check (a spot check); the hub stores it with the result.
 */
export type Verdict = { ok: true; note?: string } | { ok: false; reason: string }

/** Reports progress in [0, 1]; returns nothing. */
export type ProgressCallback = (fraction: number) => void

export interface CpuKernelContext {
  onProgress: ProgressCallback
  /** True once the task was cancelled; kernels check it between blocks. */
  isCancelled: () => boolean
  /** Called once the kernel has copied its inputs into its own memory and reads them no more (optional). */
  onInputsCopied?: () => void
  /**
   * Resumes from a checkpoint: the first row (matmul) or block (primes) not done yet; the output array already holds
   * the results before it. @default 0
   */
  resumeAt?: number
  /** Called at slice boundaries: `done` rows or blocks are final in the output array (what a checkpoint saves). */
  onSlice?: (done: number) => void
}

export interface WorkloadDescriptor<Params, Spec> {
  id: string
  version: number
  title: string
  /** One sentence a volunteer reads before agreeing to run it. */
  description: string
  /** Parameters a job owner passes to create a job (sizes, input blob hashes or a seed). */
  params: z.ZodType<Params>
  /** Shape of a unit's spec as it travels in a lease. */
  spec: z.ZodType<Spec>
  /** The cost model: credit granted for a verified unit, in floating-point operations. */
  costFlops(spec: Spec): number
  /** Exact byte length of a correct output. */
  outputBytes(spec: Spec): number
  /** Human-readable encodings of inputs and output, for the OpenAPI document and job owners. */
  encoding: { inputs: string; output: string }
}
