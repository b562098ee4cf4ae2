/**
 * Demo jobs: when demo mode is on the hub keeps one open matmul job of its own, so a visitor who clicks Contribute
 * always has work. When it completes, the next one is seeded with a new seed.
 */
import { MeshworkError } from '../protocol/errors.ts'
import { describeZodError } from '../protocol/schemas.ts'
import { MatmulParams } from '../workloads/matmul/descriptor.ts'
import { createJob } from './create-job.ts'
import { createLoop, type Loop } from './loops/loop.ts'
import type { JobRecord, Store } from './store/types.ts'

/** Parameters of a demo job unless `MESHWORK_DEMO_PARAMS` says otherwise: 16 units of 256 x 256 x 1024. */
export const DEFAULT_DEMO_PARAMS = { m: 1024, n: 1024, k: 1024, tile: 256, inputs: { kind: 'random', seed: 1 } }

const NEXT_SEED_KEY = 'demo.nextSeed'

/** Merges owner-given demo params over the defaults and checks them; throws naming the bad field. */
export function demoParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const params = { ...DEFAULT_DEMO_PARAMS, ...overrides }
  const parsed = MatmulParams.safeParse(params)
  if (!parsed.success) {
    throw new MeshworkError(`MESHWORK_DEMO_PARAMS is not valid matmul params: ${describeZodError(parsed.error)}`, {
      code: 'bad_request',
    })
  }
  return params
}

/** Creates a demo job unless one is open; returns the new job, or undefined when one was already open. */
export async function seedDemoJob(store: Store, params: Record<string, unknown> = demoParams()): Promise<JobRecord | undefined> {
  if ((await store.countOpenDemoJobs()) > 0) return undefined
  const inputs = params.inputs as { kind: string; seed?: number }
  let jobParams = params
  let seed: number | undefined
  if (inputs.kind === 'random') {
    const stored = await store.getMeta(NEXT_SEED_KEY)
    seed = stored === undefined ? (inputs.seed ?? 1) : Number(stored)
    jobParams = { ...params, inputs: { kind: 'random', seed } }
  }
  const { m, n, k } = params as { m: number; n: number; k: number }
  const job = await createJob(store, {
    request: {
      workload: 'matmul',
      label: `Demo: ${m} x ${k} · ${k} x ${n} matrix product${seed === undefined ? '' : ` (seed ${seed})`}`,
      params: jobParams,
    },
    demo: true,
  })
  // Random inputs use seeds s (A) and s + 1 (B), so the next job starts at s + 2 to multiply different matrices.
  if (seed !== undefined) await store.setMeta(NEXT_SEED_KEY, String((seed + 2) % 2 ** 31))
  return job
}

export interface DemoSeederOptions {
  params?: Record<string, unknown>
  /** @default 5000 */
  intervalMs?: number
  onSeeded?: (job: JobRecord) => void
  onError?: (error: unknown) => void
}

/** A loop that keeps one demo job open; the hub wakes it when a job completes. */
export function createDemoSeederLoop(store: Store, { params = demoParams(), intervalMs = 5000, onSeeded, onError }: DemoSeederOptions = {}): Loop {
  return createLoop({
    name: 'demo seeder',
    intervalMs,
    onError,
    run: async () => {
      const job = await seedDemoJob(store, params)
      if (!job) return 0
      onSeeded?.(job)
      // Zero: one seeded job needs no immediate second pass.
      return 0
    },
  })
}
