/**
 * Verified work, end to end over HTTP against a real hub, on each store (a SQLite file, and a Postgres database of its
 * own on the test cluster): replicas and quorum for the primes workload,
 * independence of replicas, known-answer spot checks, quotas, the decision log, and the cheater suite: simulated
 * volunteers that cheat in every way the issue names, beside honest ones. No cheater is ever credited; honest
 * volunteers are credited in full.
 *
 * Every simulated volunteer calls from loopback; the hub is started with `trustProxy`, and each volunteer sends its own
 * X-Forwarded-For, so the hub sees the networks a public hub would (colluders share one /24).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bytesToF32, f32ToBytes } from '../protocol/encoding.ts'
import type { CreditHistory, JobProgress, LeasedUnit, LeaseResponse, VolunteerDecisions, VolunteerResults, VolunteerSummary } from '../protocol/schemas.ts'
import { primesHub } from '../workloads/primes/hub.ts'
import { bytesToPrimesOutput, primesOutputToBytes } from '../workloads/primes/index.ts'
import { decideQuorum } from './loops/validator.ts'
import { freshPostgresDatabase, type StoreKind } from './store/test-stores.ts'
import { startTestHub, Volunteer, waitFor, type TestHub } from './test-helpers.ts'
import type { VerificationOptions } from './verification.ts'

let t: TestHub | undefined
/** The store the suites below run their hubs on (set by each engine's describe block). */
let engine: StoreKind = 'sqlite'
let dropDatabase: (() => Promise<void>) | undefined

afterEach(async () => {
  await t?.close()
  t = undefined
  await dropDatabase?.()
  dropDatabase = undefined
})

let nextNetwork = 1

/** A volunteer on a network of its own (10.<n>.0.0/24), or on `network` (e.g. '10.200.0') with others. */
async function volunteer(hub: TestHub, network?: string): Promise<Volunteer> {
  const v = await Volunteer.create(hub.url)
  v.forwardedFor = network ? `${network}.${nextNetwork++ % 250}` : `10.${nextNetwork++}.0.7`
  return v
}

async function start(verification: VerificationOptions = {}): Promise<TestHub> {
  const database = engine === 'postgres' ? await freshPostgresDatabase() : undefined
  dropDatabase = database?.drop
  t = await startTestHub({
    trustProxy: true,
    ...(database ? { databaseUrl: database.url } : {}),
    verification: { spotCheckFraction: 0, trustAfter: 0, ...verification },
  })
  return t
}

async function createJob(hub: TestHub, workload: 'primes' | 'matmul', params: Record<string, unknown>): Promise<JobProgress> {
  const response = await hub.owner('/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workload, label: `${workload} test`, params }),
  })
  expect(response.status).toBe(201)
  return (await response.json()) as JobProgress
}

const job = async (hub: TestHub, id: string) => (await (await hub.owner(`/jobs/${id}`)).json()) as JobProgress

/** The correct primes output of a unit. */
const countPrimes = (unit: LeasedUnit) => primesHub.solve!(unit.spec, [])

/** A wrong output whose total is still the sum of its blocks: block `block` (all blocks: -1) counts one prime more. */
function wrongPrimes(unit: LeasedUnit, block = -1): Uint8Array {
  const words = bytesToPrimesOutput(countPrimes(unit))
  for (let i = 1; i < words.length; i++) {
    if (block === -1 || i === block + 1) {
      words[i] += 1
      words[0] += 1
    }
  }
  return primesOutputToBytes(words)
}

async function results(v: Volunteer): Promise<VolunteerResults['results']> {
  return (await v.json<VolunteerResults>('/volunteer/results?limit=200')).results
}

/** Waits until every result of `v` is judged (none `returned`) and its valid ones credited. */
async function settled(v: Volunteer, timeoutMs = 10_000): Promise<VolunteerSummary> {
  return waitFor(async () => {
    const s = await v.json<VolunteerSummary>('/volunteer/summary')
    return s.results.returned === 0 && s.crediting === 0 && s
  }, `the results of ${v.deviceId.slice(0, 8)} to be judged and credited`, timeoutMs)
}

const creditOf = async (v: Volunteer) => (await v.json<VolunteerSummary>('/volunteer/summary')).creditFlops

describe.each(['sqlite', 'postgres'] as const)('%s hub', (kind) => {
  beforeAll(() => {
    engine = kind
  })

  describe('replicas and quorum (primes)', () => {
    it('two independent volunteers that agree are both valid and credited in full; the job is done and right', async () => {
      const hub = await start()
      const created = await createJob(hub, 'primes', { lo: 1_000_000, hi: 3_500_000, unitSpan: 1_000_000, block: 250_000 })
      const [a, b] = [await volunteer(hub), await volunteer(hub)]
      const unitsA = await a.lease(16)
      const unitsB = await b.lease(16)
      // Each unit went to both: a quorum of two needs two replicas.
      expect(unitsA.map((u) => u.unitId).sort()).toEqual(unitsB.map((u) => u.unitId).sort())
      expect(unitsA).toHaveLength(3)
      // A third volunteer gets nothing: both replicas of every unit are out.
      expect(await (await volunteer(hub)).lease(16)).toEqual([])

      for (const u of unitsA) expect((await a.submit(u.unitId, countPrimes(u))).status).toBe(200)
      // One replica alone decides nothing: a's results wait for b's.
      await new Promise((r) => setTimeout(r, 200))
      expect((await results(a)).every((r) => r.state === 'returned')).toBe(true)
      for (const u of unitsB) expect((await b.submit(u.unitId, countPrimes(u))).status).toBe(200)

      for (const v of [a, b]) {
        const s = await settled(v)
        expect(s.results).toEqual({ returned: 0, valid: 3, invalid: 0 })
        expect(s.creditFlops).toBe(unitsA.reduce((sum, u) => sum + u.costFlops, 0))
        for (const r of await results(v)) expect(r.reason).toMatch(/^2 independent volunteers returned the same answer \(quorum 2\)/)
      }
      await waitFor(async () => (await job(hub, created.id)).state === 'done', 'the job to be done')
      const output = new Uint8Array(await (await hub.owner(`/jobs/${created.id}/output`)).arrayBuffer())
      expect(new DataView(output.buffer).getBigUint64(0, true)).toBe(250150n - 78498n)
    })

    it('a replica that disagrees sends one more; the two that agree win, the odd one is invalid, and the log says why', async () => {
      const hub = await start()
      const created = await createJob(hub, 'primes', { lo: 0, hi: 1_000_000, unitSpan: 1_000_000, block: 100_000 })
      const [cheat, h1, h2] = [await volunteer(hub), await volunteer(hub), await volunteer(hub)]
      const [unit] = await cheat.lease(1)
      expect((await h1.lease(1))[0].unitId).toBe(unit.unitId)
      // One block wrong, the total still its sum: the hub's spot check of two blocks of ten may miss it; the quorum does not.
      const cheated = crypto.randomUUID()
      expect((await cheat.submit(unit.unitId, wrongPrimes(unit, 7), cheated)).status).toBe(200)
      expect((await h1.submit(unit.unitId, countPrimes(unit))).status).toBe(200)
      // No two agree: the hub gathers a third replica.
      const [third] = await waitFor(async () => {
        const units = await h2.lease(1)
        return units.length > 0 && units
      }, 'a third replica to be issued')
      expect(third.unitId).toBe(unit.unitId)
      expect((await h2.submit(unit.unitId, countPrimes(unit))).status).toBe(200)

      await settled(cheat)
      const [bad] = await results(cheat)
      expect(bad.state).toBe('invalid')
      expect(bad.reason).toMatch(/disagrees with the 2 independent results that agreed|block 7 \[700000, 800000\) holds \d+ primes/)
      expect(await creditOf(cheat)).toBe(0)
      for (const h of [h1, h2]) {
        await settled(h)
        expect((await results(h))[0].state).toBe('valid')
        expect(await creditOf(h)).toBe(unit.costFlops)
      }
      await waitFor(async () => (await job(hub, created.id)).state === 'done', 'the job to be done')

      // "Why did this result get no credit?": the decision log of the cheater's result answers.
      const { decisions } = await cheat.json<VolunteerDecisions>(`/volunteer/decisions?resultId=${cheated}`)
      const log = decisions.map((d) => `${d.kind}: ${d.message}`).join('\n')
      expect(log).toMatch(/verdict: Invalid: (disagrees with the 2 independent results|block 7)/)
      expect(log).toMatch(/quota: Invalid result: the device's daily quota is halved/)
      // Another device cannot read it.
      expect((await h1.json<VolunteerDecisions>(`/volunteer/decisions?resultId=${cheated}`)).decisions).toEqual([])
    })

    it('replicas never go to the same device, the same linked wallet or the same network', async () => {
      const hub = await start()
      await createJob(hub, 'primes', { lo: 0, hi: 100_000, unitSpan: 100_000, block: 10_000 })
      const [first, sameNetwork, other] = [await volunteer(hub, '10.200.0'), await volunteer(hub, '10.200.0'), await volunteer(hub)]
      const [unit] = await first.lease(1)
      expect(await first.lease(1)).toEqual([])
      expect(await sameNetwork.lease(1)).toEqual([])
      expect((await other.lease(1)).map((u) => u.unitId)).toEqual([unit.unitId])

      // The same wallet, on different networks: two devices linked to one address.
      await createJob(hub, 'primes', { lo: 0, hi: 100_000, unitSpan: 100_000, block: 10_000 })
      const [w1, w2, w3] = [await volunteer(hub), await volunteer(hub), await volunteer(hub)]
      const store = hub.hub.store
      for (const v of [w1, w2]) {
        await store.touchDevice(v.deviceId, Date.now())
        expect(await store.openSession({ tokenHash: crypto.randomUUID(), address: '0x00000000000000000000000000000000000000aa', deviceId: v.deviceId, expiresAt: Date.now() + 60_000 }, Date.now())).toBe('opened')
      }
      const [walletUnit] = await w1.lease(1)
      expect(await w2.lease(1)).toEqual([])
      expect((await w3.lease(1)).map((u) => u.unitId)).toEqual([walletUnit.unitId])
    })

    it('no quorum after the most results: the unit is an error for its owner, and no one is credited for it', async () => {
      const hub = await start()
      const created = await createJob(hub, 'primes', { lo: 0, hi: 100_000, unitSpan: 100_000, block: 10_000 })
      const cheaters: Volunteer[] = []
      // Six volunteers, each wrong in another block (primes allows six results per unit).
      for (let i = 0; i < 6; i++) {
        const v = await volunteer(hub)
        const [unit] = await waitFor(async () => {
          const units = await v.lease(1)
          return units.length > 0 && units
        }, `replica ${i + 1} to be issued`)
        expect((await v.submit(unit.unitId, wrongPrimes(unit, i))).status).toBe(200)
        cheaters.push(v)
      }
      await waitFor(async () => (await job(hub, created.id)).state === 'error', 'the job to be an error')
      expect((await job(hub, created.id)).units).toMatchObject({ total: 1, done: 1, error: 1 })
      for (const v of cheaters) {
        await settled(v)
        expect((await results(v))[0].state).toBe('invalid')
        expect(await creditOf(v)).toBe(0)
      }
      expect((await results(cheaters[5]))[0].reason).toMatch(/the unit is an error: no 2 of its 6 results agreed|holds \d+ primes/)
    })
  })

  describe('adaptive replication, spot checks and quotas', () => {
    it('a device with a long record of valid results gets replicated units alone, and its results are credited', async () => {
      const hub = await start({ trustAfter: 2 })
      await createJob(hub, 'primes', { lo: 0, hi: 10_000_000, unitSpan: 100_000, block: 100_000 })
      const [a, b] = [await volunteer(hub), await volunteer(hub)]
      // Build a record: two units each, both replicas agree.
      for (let i = 0; i < 2; i++) {
        const [ua] = await a.lease(1)
        const [ub] = await b.lease(1)
        expect(ub.unitId).toBe(ua.unitId)
        await a.submit(ua.unitId, countPrimes(ua))
        await b.submit(ub.unitId, countPrimes(ub))
        await settled(a)
      }
      // Now a's streak is 2 and then more: with probability 1 - 2/streak a unit is its alone. Over 30 units some are.
      // b leases next: a's unit when it is replicated, else the following one (which a then replicates).
      let alone = 0
      for (let i = 0; i < 30; i++) {
        const [u] = await a.lease(1)
        await a.submit(u.unitId, countPrimes(u))
        const [ub] = await b.lease(1)
        await b.submit(ub.unitId, countPrimes(ub))
        const r = await waitFor(async () => {
          const mine = (await results(a)).find((x) => x.unitId === u.unitId)
          if (mine?.state === 'valid') return mine
          // A replicated unit of a's still waits for b's replica: on Postgres b's lease passes over a unit that the
          // validator holds locked at that moment (SKIP LOCKED) and takes the next one, so b leases again.
          if (mine && (await hub.hub.store.getUnit(u.unitId))?.state === 'unsent') {
            const [more] = await b.lease(1)
            if (more) await b.submit(more.unitId, countPrimes(more))
          }
          return false
        }, 'a valid result')
        if (/^not replicated/.test(r.reason ?? '')) alone++
      }
      expect(alone).toBeGreaterThan(5)
    })

    it('known-answer units look like any other unit; a wrong answer there is invalid', async () => {
      // Every unit a spot check: the hub computes each answer itself.
      const hub = await start({ spotCheckFraction: 1 })
      await createJob(hub, 'primes', { lo: 0, hi: 200_000, unitSpan: 100_000, block: 10_000 })
      const [honest, cheat] = [await volunteer(hub), await volunteer(hub)]
      const [u1] = await honest.lease(1)
      const [u2] = await cheat.lease(1)
      // A spot-check unit is not replicated (the hub knows the answer), and the lease shows nothing else.
      expect(Object.keys(u1).sort()).toEqual(['costFlops', 'deadline', 'inputs', 'jobId', 'spec', 'unitId', 'version', 'workload'])
      expect(u2.unitId).not.toBe(u1.unitId)
      await honest.submit(u1.unitId, countPrimes(u1))
      // Wrong in one block of ten: the sampled spot check would likely miss it; the full known answer does not.
      await cheat.submit(u2.unitId, wrongPrimes(u2, 3))
      await settled(honest)
      await settled(cheat)
      expect((await results(honest))[0]).toMatchObject({ state: 'valid', reason: expect.stringMatching(/^spot check: the whole result matches/) })
      expect((await results(cheat))[0]).toMatchObject({ state: 'invalid', reason: expect.stringMatching(/spot check: the result differs|block 3/) })
    })

    it('an invalid result halves the daily quota; when it is used up the lease says why', async () => {
      const hub = await start({ dailyQuota: 4 })
      await createJob(hub, 'matmul', { m: 64, n: 64, k: 64, tile: 16, inputs: { kind: 'random', seed: 3 } })
      const v = await volunteer(hub)
      const [unit] = await v.lease(1)
      expect((await v.submit(unit.unitId, f32ToBytes(new Float32Array(unit.costFlops / (2 * 64)).fill(1)))).status).toBe(200)
      await settled(v)
      // Quota 4 halved to 2: one more unit today.
      expect(await v.lease(16)).toHaveLength(1)
      const response = await v.request('POST', '/work/lease', { max: 4, backends: ['cpu'] })
      const body = (await response.json()) as LeaseResponse
      expect(body.units).toEqual([])
      expect(body.reason).toMatch(/daily quota of 2 units is used up; it was lowered after invalid results/)
    })
  })

  describe('the cheater suite (matmul)', () => {
    it('none of six kinds of cheater is ever credited; honest volunteers beside them are credited in full', async () => {
      const hub = await start()
      const created = await createJob(hub, 'matmul', { m: 128, n: 128, k: 64, tile: 32, inputs: { kind: 'random', seed: 9 } })
      const honest = [await volunteer(hub), await volunteer(hub)]
      const random = await volunteer(hub)
      const oneWrong = await volunteer(hub)
      const copier = await volunteer(hub)
      const replayer = await volunteer(hub)
      const thief = await volunteer(hub)
      const submitted = new Map<Volunteer, number>()
      const count = (v: Volunteer) => submitted.set(v, (submitted.get(v) ?? 0) + 1)

      // Honest ones first: the copier copies one of their results, the replayer replays an accepted one.
      const [h0] = await honest[0].lease(1)
      const h0Output = await honest[0].compute(h0)
      expect((await honest[0].submit(h0.unitId, h0Output)).status).toBe(200)
      count(honest[0])

      const [r] = await random.lease(1)
      const noise = new Float32Array(r.costFlops / (2 * 64)).map(() => Math.random() * 100 - 50)
      expect((await random.submit(r.unitId, f32ToBytes(noise))).status).toBe(200)

      const [w] = await oneWrong.lease(1)
      const almost = bytesToF32(await oneWrong.compute(w))
      almost[77] += 1
      expect((await oneWrong.submit(w.unitId, f32ToBytes(almost))).status).toBe(200)

      // The copier submits another volunteer's (right) result for its own unit.
      const [cu] = await copier.lease(1)
      expect((await copier.submit(cu.unitId, h0Output)).status).toBe(200)

      // The replayer computes one unit honestly, then replays that accepted result for a new unit: same id, then a new id.
      const [first] = await replayer.lease(1)
      const firstOutput = await replayer.compute(first)
      const firstId = crypto.randomUUID()
      expect((await replayer.submit(first.unitId, firstOutput, firstId)).status).toBe(200)
      await settled(replayer)
      const creditBeforeReplay = await creditOf(replayer)
      const [next] = await replayer.lease(1)
      const sameId = await replayer.submit(next.unitId, firstOutput, firstId)
      expect(sameId.status).toBe(409)
      expect((await replayer.submit(next.unitId, firstOutput)).status).toBe(200)

      // The thief submits for a unit leased to someone else.
      const [stolen] = await honest[1].lease(1)
      const stolenOutput = await honest[1].compute(stolen)
      const theft = await thief.submit(stolen.unitId, stolenOutput)
      expect(theft.status).toBe(403)
      expect(await theft.text()).toMatch(/was not leased to this device/)
      expect((await honest[1].submit(stolen.unitId, stolenOutput)).status).toBe(200)
      count(honest[1])

      // The honest volunteers finish the job between them (the cheaters' units come back to them).
      for (;;) {
        let leased = 0
        for (const h of honest) {
          for (const unit of await h.lease(4)) {
            leased++
            expect((await h.submit(unit.unitId, await h.compute(unit))).status).toBe(200)
            count(h)
          }
        }
        if ((await job(hub, created.id)).state === 'done') break
        if (!leased) await new Promise((resolve) => setTimeout(resolve, 20))
      }

      for (const cheater of [random, oneWrong, copier]) {
        await settled(cheater)
        const [result] = await results(cheater)
        expect(result.state).toBe('invalid')
        expect(result.reason).toBeTruthy()
        expect(await creditOf(cheater)).toBe(0)
      }
      await settled(replayer)
      const replayed = (await results(replayer)).find((x) => x.unitId === next.unitId)!
      expect(replayed.state).toBe('invalid')
      expect(await creditOf(replayer)).toBe(creditBeforeReplay)
      expect(await creditOf(thief)).toBe(0)
      expect((await results(thief)).length).toBe(0)

      // Every unit credited exactly once, and only to honest work: the honest volunteers' credit is exactly their units' cost.
      const unitCost = h0.costFlops
      for (const h of honest) {
        await settled(h)
        expect(await creditOf(h)).toBe(submitted.get(h)! * unitCost)
        const entries = (await h.json<CreditHistory>('/volunteer/credit')).entries
        expect(entries.every((e) => e.creditFlops === unitCost)).toBe(true)
      }
      const total = (await job(hub, created.id)).units.total
      expect(submitted.get(honest[0])! + submitted.get(honest[1])! + 1).toBe(total)
    })

    it('two colluding devices on one network return the same wrong answer: they never hold replicas of one unit, and neither is credited', async () => {
      const hub = await start({ replicasSameNetwork: false })
      const created = await createJob(hub, 'primes', { lo: 0, hi: 300_000, unitSpan: 100_000, block: 10_000 })
      const colluders = [await volunteer(hub, '10.66.6'), await volunteer(hub, '10.66.6')]
      const honest = [await volunteer(hub), await volunteer(hub), await volunteer(hub)]
      const held = new Map<string, Volunteer[]>()
      for (const c of colluders) {
        for (const unit of await c.lease(16)) {
          held.set(unit.unitId, [...(held.get(unit.unitId) ?? []), c])
          // The same wrong answer from both: one block off by one (the hub's sampled check may well miss it).
          expect((await c.submit(unit.unitId, wrongPrimes(unit, 4))).status).toBe(200)
        }
      }
      // Independence: no unit went to both colluders.
      expect([...held.values()].every((holders) => holders.length === 1)).toBe(true)
      expect(held.size).toBe(3)
      while ((await job(hub, created.id)).state !== 'done') {
        let leased = 0
        for (const h of honest) {
          for (const unit of await h.lease(16)) {
            leased++
            expect((await h.submit(unit.unitId, countPrimes(unit))).status).toBe(200)
          }
        }
        if (!leased) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      for (const c of colluders) {
        await settled(c)
        expect((await results(c)).every((x) => x.state === 'invalid')).toBe(true)
        expect(await creditOf(c)).toBe(0)
      }
      const output = new Uint8Array(await (await hub.owner(`/jobs/${created.id}/output`)).arrayBuffer())
      expect(new DataView(output.buffer).getBigUint64(0, true)).toBe(25997n)
    })
  })
})

describe('decideQuorum', () => {
  const unit = { unitId: 'u', workload: 'primes', spec: { lo: 0, hi: 10, block: 10 }, quorum: 2, wanted: 3, maxResults: 6 }
  const c = (id: string, byte: number) => ({ resultId: id, deviceId: `d-${id}`, output: new Uint8Array([byte, 0, 0, 0]) })

  it('picks the agreeing pair, gathers one more when none agree, and gives up at the most results even when the last ones were invalid', () => {
    expect(decideQuorum(unit, [c('a', 1), c('b', 2), c('c', 1)], 3)).toMatchObject({
      unit: { canonicalResultId: 'a' },
      verdicts: [{ resultId: 'a', state: 'valid' }, { resultId: 'b', state: 'invalid' }, { resultId: 'c', state: 'valid' }],
    })
    expect(decideQuorum(unit, [c('a', 1), c('b', 2), c('c', 3)], 3)).toEqual({ unit: { unitId: 'u', wanted: 4 }, verdicts: [] })
    // Two pending, four invalid: six results, no quorum possible any more.
    expect(decideQuorum(unit, [c('a', 1), c('b', 2)], 6)).toMatchObject({
      unit: { error: 'no 2 of its 6 results agreed' },
      verdicts: [{ state: 'invalid' }, { state: 'invalid' }],
    })
    // Fewer results in than wanted: wait.
    expect(decideQuorum(unit, [c('a', 1), c('b', 2)], 2)).toEqual({ unit: { unitId: 'u' }, verdicts: [] })
  })
})
