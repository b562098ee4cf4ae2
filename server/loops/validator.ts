/**
 * The validator: takes `returned` results, runs the workload's own check on each (Freivalds for matmul) with a
 * cryptographic random source, so a client cannot predict the check and fake an output that passes it, and records
 * `valid` or `invalid` with a reason the volunteer sees. Valid results finish their unit; invalid ones send it back.
 */
import { getWorkload } from '../../workloads/registry.ts'
import type { ResultVerdict, Store } from '../store/types.ts'
import { createLoop, type Loop } from './loop.ts'

/** A uniform [0, 1) source from `crypto.getRandomValues`, 53 random bits per value. */
export function cryptoRandom(): () => number {
  const pool = new Uint32Array(1024)
  let next = pool.length
  return () => {
    if (next + 2 > pool.length) {
      crypto.getRandomValues(pool)
      next = 0
    }
    const hi = pool[next++] >>> 5
    const lo = pool[next++] >>> 6
    return (hi * 67108864 + lo) / 9007199254740992
  }
}

export interface ValidateResultsOptions {
  /** Reads an input blob. @default store.getBlob */
  getBlob?: (hash: string) => Promise<Uint8Array | undefined>
  /** @default cryptoRandom() */
  random?: () => number
  /** Most results checked per pass. @default 32 */
  batch?: number
  /** @default Date.now */
  now?: () => number
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Checks up to `batch` returned results and records the verdicts in one transaction; returns how many. */
export async function validateResults(store: Store, options: ValidateResultsOptions = {}): Promise<number> {
  const { getBlob = (hash) => store.getBlob(hash), random = cryptoRandom(), batch = 32, now = Date.now } = options
  const pending = await store.pendingResults(batch)
  if (pending.length === 0) return 0
  const verdicts: ResultVerdict[] = []
  for (const result of pending) {
    verdicts.push(await judge(result, getBlob, random))
    // A check takes milliseconds of CPU; let waiting requests in between.
    await yieldToEventLoop()
  }
  await store.recordVerdicts(verdicts, now())
  return verdicts.length
}

async function judge(
  result: Awaited<ReturnType<Store['pendingResults']>>[number],
  getBlob: (hash: string) => Promise<Uint8Array | undefined>,
  random: () => number,
): Promise<ResultVerdict> {
  const invalid = (reason: string): ResultVerdict => ({ resultId: result.resultId, valid: false, reason })
  const workload = getWorkload(result.workload)
  if (!workload) return invalid(`this hub no longer runs workload "${result.workload}"`)
  const spec = workload.descriptor.spec.safeParse(result.spec)
  if (!spec.success) return invalid(`the unit's spec no longer matches workload "${result.workload}"`)
  const inputs: Uint8Array[] = []
  for (const hash of result.inputs) {
    const bytes = await getBlob(hash)
    if (!bytes) return invalid(`the hub lost input blob ${hash}; the unit cannot be checked`)
    inputs.push(bytes)
  }
  try {
    const verdict = workload.verify(spec.data, inputs, result.output, random)
    return verdict.ok
      ? { resultId: result.resultId, valid: true, reason: verdict.note ?? null }
      : invalid(verdict.reason)
  } catch (error) {
    // A verifier that throws is a hub bug, but leaving the result `returned` would retry it forever.
    return invalid(`the ${result.workload} verifier failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

export interface ValidatorLoopOptions extends ValidateResultsOptions {
  /** @default 200 */
  intervalMs?: number
  onWork?: (moved: number) => void
  onError?: (error: unknown) => void
}

/** The validation loop. */
export function createValidatorLoop(store: Store, { intervalMs = 200, onWork, onError, ...options }: ValidatorLoopOptions = {}): Loop {
  const random = options.random ?? cryptoRandom()
  return createLoop({ name: 'validator', intervalMs, onWork, onError, run: () => validateResults(store, { ...options, random }) })
}
