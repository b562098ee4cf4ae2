/**
 * The validator: takes `returned` results, runs the workload's own check on each (Freivalds for matmul) with a
 * cryptographic random source, so a client cannot predict the check and fake an output that passes it, and records
 * `valid` or `invalid` with a reason the volunteer sees. Valid results finish their unit; invalid ones send it back.
 */
import { getWorkload } from '../../workloads/registry.ts'
import type { PendingResult, QuorumCandidate, ResultVerdict, Store, UnitVerdict, ValidatorPass } from '../store/types.ts'
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
  /**
   * Most results read per pass. @default 128 (a pass records its verdicts in one transaction: bigger passes write
   * each touched page once for many results)
   */
  batch?: number
  /**
   * A pass stops checking after this much time spent checking (the rest wait for the next one), so large units keep
   * passes short. Only the checks count, not the turns of the event loop between them: on a busy hub those took most of
   * the budget, and a pass checked a handful of results. @default 50
   */
  budgetMs?: number
  /** @default Date.now */
  now?: () => number
  /**
   * The fastest any device computes, in flops per ms: a result returned sooner after its lease than its unit's cost
   * at this speed is impossible and invalid. @default DEFAULT_MAX_DEVICE_FLOPS_PER_MS
   */
  maxFlopsPerMs?: number
}

/** 100 TFLOP/s: beyond the fp32 rate of any single device a volunteer has today. */
export const DEFAULT_MAX_DEVICE_FLOPS_PER_MS = 1e11

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Checking time after which a pass lets waiting requests in. */
const YIELD_EVERY_MS = 5

/** Known answers the hub computed lately, by unit (a unit's late replica is compared with the same answer). */
const knownAnswers = new Map<string, Uint8Array>()
const KNOWN_ANSWERS_KEPT = 64

/**
 * Checks up to `batch` returned results (for at most about `budgetMs`) and records the verdicts in one transaction;
 * returns how many it checked. The store's `validatePending` hands out the results: two hubs on one Postgres database
 * never check the same one.
 *
 * Every result first passes the workload's own check (`verify`) and a speed check. Then: a known-answer unit's result
 * must equal the answer the hub computes itself; a late result for a done unit must agree with its canonical result;
 * a result of an unreplicated unit is valid; a replica waits (`pending`) until `quorum` independent results agree,
 * which makes the agreeing ones valid and the others invalid. Results that are all in without a quorum make the hub
 * gather one more, up to the unit's most results, after which the unit is an error for its owner.
 */
export async function validateResults(store: Store, options: ValidateResultsOptions = {}): Promise<number> {
  const {
    getBlob = (hash) => store.getBlob(hash),
    random = cryptoRandom(),
    batch = 128,
    budgetMs = 50,
    now = Date.now,
    maxFlopsPerMs = DEFAULT_MAX_DEVICE_FLOPS_PER_MS,
  } = options
  const pass = await store.validatePending(batch, (pending) => judgePending(store, pending, { getBlob, random, budgetMs, now, maxFlopsPerMs }))
  return pass?.checked ?? 0
}

/** A pass's judgement of the results `validatePending` read (see validateResults). */
async function judgePending(
  store: Store,
  pending: PendingResult[],
  { getBlob, random, budgetMs, now, maxFlopsPerMs }: Required<Omit<ValidateResultsOptions, 'batch'>>,
): Promise<ValidatorPass> {
  const verdicts: ResultVerdict[] = []
  /** Replicas that passed their checks in this batch, by unit. */
  const replicas = new Map<string, { first: PendingResult; results: QuorumCandidate[] }>()
  let checking = 0
  let sinceYield = 0
  let checked = 0
  for (const result of pending) {
    if (checked > 0 && checking > budgetMs) break
    checked++
    const started = performance.now()
    const speed = result.costFlops / Math.max(1, result.receivedAt - result.leasedAt)
    const { verdict: own, inputs } = await judge(result, getBlob, random)
    const workload = getWorkload(result.workload)
    const replicated = result.wanted > 1 && !result.canonical && !result.knownAnswer
    if (own.state === 'invalid' || !workload) {
      verdicts.push(own)
      // An invalid replica still counts towards the unit's most results: the quorum decides again (maybe an error).
      if (replicated && !replicas.has(result.unitId)) replicas.set(result.unitId, { first: result, results: [] })
    } else if (speed > maxFlopsPerMs) {
      if (replicated && !replicas.has(result.unitId)) replicas.set(result.unitId, { first: result, results: [] })
      verdicts.push({
        resultId: result.resultId,
        state: 'invalid',
        reason: `returned ${result.receivedAt - result.leasedAt} ms after its lease: ${(result.costFlops / 1e9).toFixed(1)} GFLOP that fast is beyond any device (${maxFlopsPerMs / 1e6} GFLOP/s at most)`,
      })
    } else if (result.knownAnswer && workload.solve) {
      let answer = knownAnswers.get(result.unitId)
      if (!answer) {
        answer = workload.solve(result.spec, inputs)
        knownAnswers.set(result.unitId, answer)
        if (knownAnswers.size > KNOWN_ANSWERS_KEPT) knownAnswers.delete(knownAnswers.keys().next().value!)
      }
      verdicts.push(
        workload.agree(result.spec, answer, result.output)
          ? { resultId: result.resultId, state: 'valid', reason: 'spot check: the whole result matches the answer the hub computed itself', flopsPerMs: speed }
          : { resultId: result.resultId, state: 'invalid', reason: 'spot check: the result differs from the answer the hub computed itself' },
      )
    } else if (result.canonical) {
      verdicts.push(
        workload.agree(result.spec, result.canonical, result.output)
          ? { resultId: result.resultId, state: 'valid', reason: `agrees with the unit's canonical result${own.reason ? `; ${own.reason}` : ''}`, flopsPerMs: speed }
          : { resultId: result.resultId, state: 'invalid', reason: "disagrees with the unit's canonical result, which a quorum of independent volunteers agreed on" },
      )
    } else if (result.wanted <= 1) {
      const alone = result.quorum > 1 ? 'not replicated: a device with a long record of valid results; ' : ''
      verdicts.push({ resultId: result.resultId, state: 'valid', reason: `${alone}${own.reason ?? 'verified'}`, flopsPerMs: speed })
    } else {
      const unit = replicas.get(result.unitId) ?? { first: result, results: [] }
      unit.results.push({ resultId: result.resultId, deviceId: result.deviceId, output: result.output })
      replicas.set(result.unitId, unit)
      verdicts.push({ ...own, state: 'pending', flopsPerMs: speed })
    }
    const spent = performance.now() - started
    checking += spent
    sinceYield += spent
    // Let waiting requests in after every few milliseconds of checking. Not after every check: on a busy hub one turn
    // of the event loop takes 10 ms or more, and yielding after each of hundreds of sub-millisecond checks made a pass
    // last seconds (results were stored far faster than they were verified).
    if (sinceYield >= YIELD_EVERY_MS) {
      sinceYield = 0
      await yieldToEventLoop()
    }
  }
  const units: UnitVerdict[] = []
  for (const [unitId, { first, results }] of replicas) {
    const earlier = await store.quorumCandidates(unitId)
    const decided = decideQuorum(first, [...earlier, ...results], await store.resultCount(unitId))
    units.push(decided.unit)
    for (const v of decided.verdicts) {
      const index = verdicts.findIndex((x) => x.resultId === v.resultId)
      // A decided replica from this batch keeps the speed it showed.
      if (index >= 0) verdicts[index] = { ...v, flopsPerMs: verdicts[index].flopsPerMs }
      else verdicts.push(v)
    }
  }
  return { checked, verdicts, units, now: now() }
}

/**
 * The quorum of one unit over its replicas that passed their own checks (`candidates`, oldest first; `total` counts
 * every result of the unit, invalid ones included).
 */
export function decideQuorum(
  unit: Pick<PendingResult, 'unitId' | 'workload' | 'spec' | 'quorum' | 'wanted' | 'maxResults'>,
  candidates: QuorumCandidate[],
  total: number,
): { unit: UnitVerdict; verdicts: ResultVerdict[] } {
  const workload = getWorkload(unit.workload)!
  // The largest group of agreeing results (each compared with its group's first member).
  const groups: QuorumCandidate[][] = []
  for (const c of candidates) {
    const group = groups.find((g) => workload.agree(unit.spec, g[0].output, c.output))
    if (group) group.push(c)
    else groups.push([c])
  }
  const best = groups.reduce<QuorumCandidate[]>((a, g) => (g.length > a.length ? g : a), [])
  if (best.length >= unit.quorum) {
    const agreeing = new Set(best.map((c) => c.resultId))
    return {
      unit: { unitId: unit.unitId, canonicalResultId: best[0].resultId },
      verdicts: candidates.map((c) =>
        agreeing.has(c.resultId)
          ? { resultId: c.resultId, state: 'valid', reason: `${best.length} independent volunteers returned the same answer (quorum ${unit.quorum})` }
          : { resultId: c.resultId, state: 'invalid', reason: `disagrees with the ${best.length} independent results that agreed (quorum ${unit.quorum})` },
      ),
    }
  }
  if (total >= unit.maxResults) {
    const reason = `no ${unit.quorum} of its ${total} results agreed`
    return {
      unit: { unitId: unit.unitId, error: reason },
      verdicts: candidates.map((c) => ({ resultId: c.resultId, state: 'invalid', reason: `the unit is an error: ${reason}` })),
    }
  }
  if (candidates.length < unit.wanted) return { unit: { unitId: unit.unitId }, verdicts: [] }
  return { unit: { unitId: unit.unitId, wanted: candidates.length + 1 }, verdicts: [] }
}

/** The workload's own check of one result, with the inputs it read (a known-answer check computes from the same). */
async function judge(
  result: PendingResult,
  getBlob: (hash: string) => Promise<Uint8Array | undefined>,
  random: () => number,
): Promise<{ verdict: ResultVerdict; inputs: Uint8Array[] }> {
  const inputs: Uint8Array[] = []
  const invalid = (reason: string) => ({ verdict: { resultId: result.resultId, state: 'invalid', reason } satisfies ResultVerdict, inputs })
  const workload = getWorkload(result.workload)
  if (!workload) return invalid(`this hub no longer runs workload "${result.workload}"`)
  const spec = workload.descriptor.spec.safeParse(result.spec)
  if (!spec.success) return invalid(`the unit's spec no longer matches workload "${result.workload}"`)
  for (const hash of result.inputs) {
    const bytes = await getBlob(hash)
    if (!bytes) return invalid(`the hub lost input blob ${hash}; the unit cannot be checked`)
    inputs.push(bytes)
  }
  try {
    const verdict = workload.verify(spec.data, inputs, result.output, random)
    return verdict.ok ? { verdict: { resultId: result.resultId, state: 'valid', reason: verdict.note ?? null }, inputs } : invalid(verdict.reason)
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
