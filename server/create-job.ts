/**
 * Creates a job: looks up the workload, validates the owner's parameters with the workload's own schema, runs its
 * generator, and stores the job, its units and their input blobs in one transaction, so a job is either complete and
 * leasable or absent.
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { MeshworkError } from '../protocol/errors.ts'
import { toBase64Url } from '../protocol/encoding.ts'
import { describeZodError, type CreateJobRequest } from '../protocol/schemas.ts'
import { getWorkload, workloads } from '../workloads/registry.ts'
import { cryptoRandom } from './loops/validator.ts'
import type { JobRecord, NewUnit, Store } from './store/types.ts'

export interface CreateJobParameters {
  request: CreateJobRequest
  /** Seeded by the hub for visitors rather than by an owner. @default false */
  demo?: boolean
  /** @default Date.now() */
  now?: number
  /** Fraction of the units that are known-answer spot checks, for workloads that can compute answers (`solve`). @default 0 */
  spotCheckFraction?: number
  /** Draws which units are spot checks. @default cryptoRandom() */
  random?: () => number
}

/** A new random job id, e.g. `job_3q2-xV0aLk9bT4nW`. */
export function newJobId(): string {
  return `job_${toBase64Url(randomBytes(12))}`
}

/** Validates, splits and stores a job; throws a `bad_request` MeshworkError naming the field that was wrong. */
export async function createJob(
  store: Store,
  { request, demo = false, now = Date.now(), spotCheckFraction = 0, random = cryptoRandom() }: CreateJobParameters,
): Promise<JobRecord> {
  const workload = getWorkload(request.workload)
  if (!workload) {
    throw new MeshworkError(`Unknown workload "${request.workload}"; this hub runs: ${[...workloads.keys()].join(', ')}.`, {
      code: 'bad_request',
    })
  }
  const parsed = workload.descriptor.params.safeParse(request.params)
  if (!parsed.success) {
    const prefixed = new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: ['params', ...issue.path] })))
    throw new MeshworkError(describeZodError(prefixed), { code: 'bad_request' })
  }
  const params = parsed.data as Record<string, unknown>

  let generated
  try {
    generated = await workload.generate(params, (hash) => store.getBlob(hash))
  } catch (error) {
    // Generators report bad parameters (a missing or mis-sized input blob) as RangeErrors.
    if (error instanceof RangeError) throw new MeshworkError(error.message, { code: 'bad_request' })
    throw error
  }

  const id = newJobId()
  const units: NewUnit[] = generated.units.map((unit, index) => ({
    id: `${id}-${index}`,
    index,
    spec: unit.spec as Record<string, unknown>,
    inputs: unit.inputs,
    // Credit comes from the descriptor's cost model, recomputed here rather than trusted from the generator.
    costFlops: workload.descriptor.costFlops(unit.spec),
    quorum: workload.replication?.quorum ?? 1,
    maxResults: workload.replication?.maxResults ?? 8,
    // Spot checks are ordinary units of the job on the wire; only the hub knows it will check them fully.
    knownAnswer: Boolean(workload.solve) && random() < spotCheckFraction,
  }))
  await store.insertJob(
    {
      id,
      workload: workload.descriptor.id,
      version: workload.descriptor.version,
      label: request.label ?? null,
      params,
      demo,
      createdAt: now,
    },
    units,
    generated.blobs,
  )
  const job = await store.getJob(id)
  if (!job) throw new MeshworkError(`Job ${id} was stored but cannot be read back.`, { code: 'internal' })
  return job
}
