/**
 * The unit and result state machine on a real SQLite file and a real Postgres database, driven through the same
 * operations the hub's loops and routes use (leaseWork, ingest, validateResults, creditResults), without HTTP, and the
 * replica and quorum rules through the store's own methods. Every case runs on both engines (see test-stores.ts); the
 * schema-migration cases are SQLite's own.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytesToF32, f32ToBytes } from '../../protocol/encoding.ts'
import type { LeasedUnit } from '../../protocol/schemas.ts'
import { matmul, matmulRows } from '../../workloads/matmul/index.ts'
import { createJob } from '../create-job.ts'
import { createIngest, type Ingest } from '../ingest.ts'
import { creditResults } from '../loops/credit.ts'
import { expireLeases, leaseWork } from '../loops/scheduler.ts'
import { validateResults } from '../loops/validator.ts'
import { hubOptionsFromEnv } from '../config.ts'
import { tempDir } from '../test-helpers.ts'
import { openStore } from './index.ts'
import { MIGRATIONS as POSTGRES_MIGRATIONS, openPostgresStore } from './postgres.ts'
import { MIGRATIONS, openSqliteStore } from './sqlite.ts'
import { freshPostgresDatabase, storeKinds, type OpenedStore } from './test-stores.ts'
import type { LeaseUnitsParameters, Store } from './types.ts'

const LEASE_MS = 60_000
const A = 'A'.repeat(43)
const B = 'B'.repeat(43)
const C = 'C'.repeat(43)

let store: Store
let ingest: Ingest

async function job(params: { m: number; n: number; k: number; tile: number }, seed = 1, on: Store = store) {
  return createJob(on, { request: { workload: 'matmul', params: { ...params, inputs: { kind: 'random', seed } } } })
}

async function correctOutput(unit: LeasedUnit): Promise<Uint8Array> {
  const [a, b] = await Promise.all(unit.inputs.map(async (h) => (await store.getBlob(h))!))
  const spec = unit.spec as { m: number; n: number; k: number }
  const c = new Float32Array(spec.m * spec.n)
  matmulRows(bytesToF32(a), bytesToF32(b), c, spec.n, spec.k, 0, spec.m)
  return f32ToBytes(c)
}

function submit(deviceId: string, unit: LeasedUnit, output: Uint8Array, resultId: string = crypto.randomUUID()) {
  return ingest.submit({
    deviceId,
    output,
    submission: { resultId, unitId: unit.unitId, output: '', elapsedMs: 1, backend: 'cpu' },
  })
}

describe.each(storeKinds)('$kind store: a unit from lease to credit', ({ open }) => {
  let opened: OpenedStore

  beforeEach(async () => {
    opened = await open()
    store = opened.store
    ingest = createIngest(store)
  })

  afterEach(async () => {
    await opened.close()
  })

  it('leases, stores, verifies and credits a result by the cost model, then finishes the job', async () => {
    const created = await job({ m: 32, n: 32, k: 48, tile: 16 })
    expect(created.units).toMatchObject({ total: 4, unsent: 4, done: 0 })

    const units = await leaseWork(store, { deviceId: A, max: 16, backends: ['cpu'], leaseMs: LEASE_MS })
    expect(units.map((u) => u.unitId)).toEqual([0, 1, 2, 3].map((i) => `${created.id}-${i}`))
    expect((await store.getUnit(units[0].unitId))?.state).toBe('leased')
    // Several at once: unknown ids are left out, a repeated id comes once.
    const some = await store.getUnits([units[1].unitId, 'no-such-unit', units[0].unitId, units[1].unitId])
    expect(new Set(some.keys())).toEqual(new Set([units[0].unitId, units[1].unitId]))
    expect(some.get(units[1].unitId)).toEqual(await store.getUnit(units[1].unitId))

    for (const unit of units.slice(0, 3)) {
      expect(await submit(A, unit, await correctOutput(unit))).toMatchObject({ state: 'returned', duplicate: false })
    }
    expect((await store.getUnit(units[0].unitId))?.state).toBe('returned')

    expect(await validateResults(store)).toBe(3)
    expect((await store.getUnit(units[0].unitId))?.state).toBe('done')
    expect(await store.deviceSummary(A)).toEqual({
      returned: 0,
      valid: 3,
      invalid: 0,
      creditFlops: 0,
      crediting: 3,
      bandwidth: { servedBytes: 0, creditFlops: 0 },
    })

    const first = await creditResults(store)
    expect(first).toEqual({ credited: 3, completedJobs: [] })
    const ledger = await store.deviceLedger(A, 100)
    expect(ledger.map((e) => e.amountFlops)).toEqual([2 * 16 * 16 * 48, 2 * 16 * 16 * 48, 2 * 16 * 16 * 48])
    expect(ledger[0].amountFlops).toBe(matmul.costFlops({ m: 16, n: 16, k: 48 }))
    expect((await store.getJob(created.id))?.state).toBe('open')

    await submit(A, units[3], await correctOutput(units[3]))
    await validateResults(store)
    expect(await creditResults(store)).toEqual({ credited: 1, completedJobs: [created.id] })
    const done = await store.getJob(created.id)
    expect(done?.state).toBe('done')
    expect(done?.completedAt).toBeTypeOf('number')
    // Running the credit loop again pays nothing twice.
    expect(await creditResults(store)).toEqual({ credited: 0, completedJobs: [] })
    expect((await store.deviceSummary(A)).creditFlops).toBe(2 * 32 * 32 * 48)
  })

  it('stores every result of a batch with its own output, byte for byte, in the order they came', async () => {
    await job({ m: 64, n: 16, k: 16, tile: 16 })
    const units = await store.leaseUnits({ deviceId: A, max: 4, now: 1_000, deadline: 1_000 + LEASE_MS })
    // Outputs of different lengths (one empty) with distinct bytes: one slipped offset shows as another's bytes.
    const outputs = [7, 0, 1024, 3].map((n, i) => Uint8Array.from({ length: n }, (_, j) => (j * 31 + i * 101 + 1) % 256))
    const items = units.map((u, i) => ({
      resultId: `r-${i}`,
      unitId: u.id,
      deviceId: A,
      output: outputs[i],
      backend: 'cpu' as const,
      elapsedMs: 10 + i,
      receivedAt: 2_000,
      partner: i === 2 ? 'partner-x' : undefined,
    }))
    expect((await store.insertResults(items)).map((o) => o.kind)).toEqual(['accepted', 'accepted', 'accepted', 'accepted'])
    const pending = await store.pendingResults(10)
    expect(pending.map((p) => p.resultId)).toEqual(['r-0', 'r-1', 'r-2', 'r-3'])
    pending.forEach((p, i) => expect([p.unitId, p.deviceId, p.receivedAt, Buffer.from(p.output).equals(Buffer.from(outputs[i]))]).toEqual([units[i].id, A, 2_000, true]))
    const listed = await store.deviceResults(A, 10)
    expect(Object.fromEntries(listed.map((r) => [r.resultId, r.elapsedMs]))).toEqual({ 'r-0': 10, 'r-1': 11, 'r-2': 12, 'r-3': 13 })
  })

  it('re-issues a unit whose lease expired to another device, and both honest results are accepted', async () => {
    await job({ m: 16, n: 16, k: 16, tile: 16 })
    const t0 = Date.now()
    const [unit] = await leaseWork(store, { deviceId: A, max: 1, backends: ['cpu'], leaseMs: LEASE_MS, now: t0 })
    expect(await leaseWork(store, { deviceId: B, max: 1, backends: ['cpu'], leaseMs: LEASE_MS, now: t0 + 1000 })).toEqual([])

    expect(await expireLeases(store, t0 + LEASE_MS - 1)).toBe(0)
    expect(await expireLeases(store, t0 + LEASE_MS + 1)).toBe(1)
    expect((await store.getUnit(unit.unitId))?.state).toBe('unsent')

    const [again] = await leaseWork(store, { deviceId: B, max: 1, backends: ['cpu'], leaseMs: LEASE_MS, now: t0 + LEASE_MS + 2 })
    expect(again.unitId).toBe(unit.unitId)
    expect((await store.getUnit(unit.unitId))?.attempts).toBe(2)

    // A late result from A still counts: A leased the unit and did the work.
    const output = await correctOutput(unit)
    await submit(B, again, output)
    await submit(A, unit, output)
    await validateResults(store)
    await creditResults(store)
    expect((await store.deviceSummary(A)).valid).toBe(1)
    expect((await store.deviceSummary(B)).valid).toBe(1)
  })

  it('also re-issues an expired lease before the scheduler loop has marked it', async () => {
    await job({ m: 16, n: 16, k: 16, tile: 16 })
    const t0 = Date.now()
    await leaseWork(store, { deviceId: A, max: 1, backends: ['cpu'], leaseMs: 10, now: t0 })
    const units = await leaseWork(store, { deviceId: B, max: 1, backends: ['cpu'], leaseMs: 10, now: t0 + 11 })
    expect(units).toHaveLength(1)
  })

  it('sends a unit back after an invalid result and never leases it to that device again', async () => {
    await job({ m: 16, n: 16, k: 16, tile: 16 })
    const [unit] = await leaseWork(store, { deviceId: A, max: 4, backends: ['cpu'], leaseMs: LEASE_MS })
    await submit(A, unit, new Uint8Array(16 * 16 * 4))
    await validateResults(store)

    const [result] = await store.deviceResults(A, 10)
    expect(result.state).toBe('invalid')
    expect(result.reason).toMatch(/row \d+ of the product is wrong/)
    expect((await store.getUnit(unit.unitId))?.state).toBe('unsent')

    expect(await leaseWork(store, { deviceId: A, max: 4, backends: ['cpu'], leaseMs: LEASE_MS })).toEqual([])
    const [forB] = await leaseWork(store, { deviceId: B, max: 4, backends: ['cpu'], leaseMs: LEASE_MS })
    expect(forB.unitId).toBe(unit.unitId)

    await creditResults(store)
    expect((await store.deviceSummary(A)).creditFlops).toBe(0)
  })

  it('leases the oldest job first', async () => {
    const older = await job({ m: 16, n: 16, k: 16, tile: 16 }, 1)
    const newer = await job({ m: 16, n: 16, k: 16, tile: 16 }, 3)
    const [first] = await leaseWork(store, { deviceId: A, max: 1, backends: ['cpu'], leaseMs: LEASE_MS })
    const [second] = await leaseWork(store, { deviceId: C, max: 1, backends: ['cpu'], leaseMs: LEASE_MS })
    expect([first.jobId, second.jobId]).toEqual([older.id, newer.id])
  })

  it('refuses to rewrite the ledger', async () => {
    await job({ m: 16, n: 16, k: 16, tile: 16 })
    const [unit] = await leaseWork(store, { deviceId: A, max: 1, backends: ['cpu'], leaseMs: LEASE_MS })
    await submit(A, unit, await correctOutput(unit))
    await validateResults(store)
    await creditResults(store)
    // The store has no method that edits the ledger; this opens the database beside it to show the table itself refuses.
    await expect(opened.exec('UPDATE ledger SET amount_flops = 1e18')).rejects.toThrow(/append-only/)
    await expect(opened.exec('DELETE FROM ledger')).rejects.toThrow(/append-only/)
    expect((await store.deviceLedger(A, 10)).map((e) => e.amountFlops)).toEqual([2 * 16 * 16 * 16])
  })
})

/** A job of `count` units that each need `quorum` agreeing results, inserted straight into the store. */
async function quorumJob(on: Store, { count = 1, quorum = 2 } = {}): Promise<{ jobId: string; unitIds: string[] }> {
  const jobId = `q-${crypto.randomUUID()}`
  const unitIds = Array.from({ length: count }, (_, i) => `${jobId}-${i}`)
  await on.insertJob(
    { id: jobId, workload: 'primes', version: 1, label: null, params: {}, demo: false, createdAt: Date.now() },
    unitIds.map((id, index) => ({ id, index, spec: {}, inputs: [], costFlops: 1000, quorum, maxResults: 6 })),
    new Map(),
  )
  return { jobId, unitIds }
}

async function leaseIds(deviceId: string, now: number, extra: Partial<LeaseUnitsParameters> = {}): Promise<string[]> {
  return (await store.leaseUnits({ deviceId, max: 4, now, deadline: now + LEASE_MS, ...extra })).map((u) => u.id)
}

function result(unitId: string, deviceId: string, receivedAt: number, resultId = `r-${deviceId.slice(0, 1)}-${unitId}`) {
  return { resultId, unitId, deviceId, output: new Uint8Array([1, 2, 3, 4]), backend: 'cpu' as const, elapsedMs: 1, receivedAt }
}

describe.each(storeKinds)('$kind store: replicas and quorum', ({ open }) => {
  let opened: OpenedStore

  beforeEach(async () => {
    opened = await open()
    store = opened.store
  })

  afterEach(async () => {
    await opened.close()
  })

  it('gives the two replicas of a quorum-2 unit to two devices: unsent after the first lease, leased after the second', async () => {
    const { unitIds: [unit] } = await quorumJob(store)
    const t0 = Date.now()
    expect(await leaseIds(A, t0)).toEqual([unit])
    expect(await store.getUnit(unit)).toMatchObject({ state: 'unsent', quorum: 2, wanted: 2, attempts: 1 })
    // The same device never gets a second replica.
    expect(await leaseIds(A, t0 + 1)).toEqual([])
    expect(await leaseIds(B, t0 + 2)).toEqual([unit])
    expect(await store.getUnit(unit)).toMatchObject({ state: 'leased', attempts: 2 })
    // Both replica slots are taken.
    expect(await leaseIds(C, t0 + 3)).toEqual([])
    expect((await store.counts()).leases).toBe(2)
  })

  it('never gives two replicas to devices on one network (unless allowed) nor to devices linked to one wallet', async () => {
    const { unitIds: [unit] } = await quorumJob(store)
    const t0 = Date.now()
    await store.touchDevice(A, t0, '203.0.113.0/24')
    await store.touchDevice(B, t0, '203.0.113.0/24')
    expect(await leaseIds(A, t0)).toEqual([unit])
    expect(await leaseIds(B, t0 + 1)).toEqual([])
    expect(await leaseIds(B, t0 + 2, { independentNetworks: false })).toEqual([unit])

    const { unitIds: [other] } = await quorumJob(store)
    const D = 'D'.repeat(43)
    const wallet = '0x' + 'ab'.repeat(20)
    for (const [i, deviceId] of [C, D].entries()) {
      expect(await store.openSession({ tokenHash: `token-${i}`, address: wallet, deviceId, expiresAt: t0 + 3_600_000 }, t0)).toBe('opened')
    }
    expect(await leaseIds(C, t0 + 3)).toEqual([other])
    expect(await leaseIds(D, t0 + 4)).toEqual([])
    // A device on another network and wallet takes the second replica.
    await store.touchDevice(A + 'x', t0, '198.51.100.0/24')
    expect(await leaseIds(A + 'x', t0 + 5)).toEqual([other])
  })

  it('keeps the replica rules for leases asked at the same moment (one group of leases on Postgres)', async () => {
    const { unitIds } = await quorumJob(store, { count: 3 })
    const t0 = Date.now()
    const D = 'D'.repeat(43)
    await store.touchDevice(A, t0, '203.0.113.0/24')
    await store.touchDevice(B, t0, '203.0.113.0/24')
    // A asks twice, B shares A's network, C and D are independent: all at once.
    const asks = [A, A, B, C, D]
    const leased = await Promise.all(asks.map((deviceId) => leaseIds(deviceId, t0)))
    const byUnit = new Map(unitIds.map((id) => [id, [] as string[]]))
    leased.forEach((ids, i) => ids.forEach((id) => byUnit.get(id)!.push(asks[i])))
    for (const [unit, devices] of byUnit) {
      // Both replicas went out, to two devices on two networks.
      expect(devices, unit).toHaveLength(2)
      expect(new Set(devices).size, unit).toBe(2)
      expect(devices.includes(A) && devices.includes(B), unit).toBe(false)
    }
    expect((await store.counts()).leases).toBe(6)
    expect(await store.unitStates()).toMatchObject({ unsent: 0, leased: 3 })
  })

  it('issues a replica again when its lease expired', async () => {
    const { unitIds: [unit] } = await quorumJob(store)
    const t0 = Date.now()
    expect(await store.leaseUnits({ deviceId: A, max: 1, now: t0, deadline: t0 + 10 })).toHaveLength(1)
    expect(await leaseIds(B, t0 + 1)).toEqual([unit])
    expect((await store.getUnit(unit))?.state).toBe('leased')
    expect(await leaseIds(C, t0 + 5)).toEqual([])
    // A's lease ran out: its replica goes to C, before or after the scheduler loop marked it.
    expect(await leaseIds(C, t0 + 11)).toEqual([unit])
    expect(await store.getUnit(unit)).toMatchObject({ state: 'leased', attempts: 3 })
    expect(await store.expireLeases(t0 + 12)).toBe(0)
    expect(await store.expireLeases(t0 + LEASE_MS + 12)).toBe(2)
    expect((await store.getUnit(unit))?.state).toBe('unsent')
  })

  it('makes a unit done with the canonical result its quorum agreed on, and an error unit makes its job an error', async () => {
    const { jobId, unitIds } = await quorumJob(store, { count: 2 })
    const t0 = Date.now()
    expect(await leaseIds(A, t0)).toEqual(unitIds)
    expect(await leaseIds(B, t0 + 1)).toEqual(unitIds)
    const [u0, u1] = unitIds
    const inserted = await store.insertResults([result(u0, A, t0 + 2), result(u0, B, t0 + 3), result(u1, A, t0 + 4), result(u1, B, t0 + 5)])
    expect(inserted.map((o) => o.kind)).toEqual(['accepted', 'accepted', 'accepted', 'accepted'])
    expect((await store.getUnit(u0))?.state).toBe('returned')
    const pending = await store.pendingResults(10)
    expect(pending.map((p) => [p.unitId, p.quorum, p.wanted, p.maxResults, p.knownAnswer, p.canonical])).toEqual([
      [u0, 2, 2, 6, false, undefined],
      [u0, 2, 2, 6, false, undefined],
      [u1, 2, 2, 6, false, undefined],
      [u1, 2, 2, 6, false, undefined],
    ])
    expect(pending[0].leasedAt).toBe(t0)

    // The first replica passed its own check and waits; then the quorum decides.
    await store.recordVerdicts([{ resultId: `r-A-${u0}`, state: 'pending', reason: null }], t0 + 6)
    expect((await store.quorumCandidates(u0)).map((c) => c.resultId)).toEqual([`r-A-${u0}`])
    expect((await store.pendingResults(10)).map((p) => p.resultId)).not.toContain(`r-A-${u0}`)
    await store.recordVerdicts(
      [
        { resultId: `r-B-${u0}`, state: 'valid', reason: 'agreed' },
        { resultId: `r-A-${u0}`, state: 'valid', reason: 'agreed' },
      ],
      t0 + 7,
      [{ unitId: u0, canonicalResultId: `r-A-${u0}` }],
    )
    expect(await store.getUnit(u0)).toMatchObject({ state: 'done', canonicalResultId: `r-A-${u0}`, error: null })
    expect(await store.quorumCandidates(u0)).toEqual([])
    const log = await store.deviceDecisions(B, { resultId: `r-B-${u0}`, limit: 10 })
    expect(log.map((d) => d.kind)).toEqual(['verdict', 'quorum'])

    await store.recordVerdicts(
      [
        { resultId: `r-A-${u1}`, state: 'invalid', reason: 'no quorum' },
        { resultId: `r-B-${u1}`, state: 'invalid', reason: 'no quorum' },
      ],
      t0 + 8,
      [{ unitId: u1, error: 'no 2 of its 2 results agreed' }],
    )
    expect(await store.getUnit(u1)).toMatchObject({ state: 'done', canonicalResultId: null, error: 'no 2 of its 2 results agreed' })
    expect((await store.getJob(jobId))?.units).toMatchObject({ total: 2, done: 2, error: 1 })
    expect(await store.completeJobs(t0 + 9)).toEqual([jobId])
    expect((await store.getJob(jobId))?.state).toBe('error')
    expect(await store.resultCount(u1)).toBe(2)
  })

  it("halves a device's daily quota after an invalid result and doubles it back after a valid one", async () => {
    const { unitIds } = await quorumJob(store, { count: 3, quorum: 1 })
    const t0 = Date.now()
    await store.touchDevice(A, t0)
    expect(await store.deviceQuota(A, t0, 8)).toEqual({ quota: 8, leasedToday: 0 })
    expect(await leaseIds(A, t0, { max: 1, dailyQuota: 2 })).toEqual([unitIds[0]])
    await store.insertResults([result(unitIds[0], A, t0 + 1)])
    await store.recordVerdicts([{ resultId: `r-A-${unitIds[0]}`, state: 'invalid', reason: 'wrong' }], t0 + 2)
    expect(await store.deviceQuota(A, t0, 8)).toEqual({ quota: 4, leasedToday: 1 })
    // Its quota of 2 is 1 now, and it leased 1 today.
    expect(await leaseIds(A, t0 + 3, { dailyQuota: 2 })).toEqual([])
    expect((await store.deviceDecisions(A, { limit: 10 })).map((d) => d.kind)).toEqual(['verdict', 'quota'])
    // The next UTC day it may lease again (not the unit it failed); a valid result doubles the quota back.
    const tomorrow = t0 + 86_400_000
    expect(await leaseIds(A, tomorrow, { max: 1, dailyQuota: 2 })).toEqual([unitIds[1]])
    expect(await store.deviceQuota(A, tomorrow, 8)).toEqual({ quota: 4, leasedToday: 1 })
    await store.insertResults([result(unitIds[1], A, tomorrow + 1)])
    await store.recordVerdicts([{ resultId: `r-A-${unitIds[1]}`, state: 'valid', reason: null, flopsPerMs: 5 }], tomorrow + 2)
    expect(await store.deviceQuota(A, tomorrow, 8)).toEqual({ quota: 8, leasedToday: 1 })
    expect(await store.creditSince([A, 'never-seen'], 0)).toEqual(
      new Map([
        [A, { creditFlops: 0, flopsPerMs: 5 }],
        ['never-seen', { creditFlops: 0, flopsPerMs: null }],
      ]),
    )
    expect((await store.getUnit(unitIds[1]))?.state).toBe('done')
  })

  it("moves a device's speed, quota and streak by a batch of verdicts as by one verdict after another", async () => {
    const { unitIds } = await quorumJob(store, { count: 10, quorum: 1 })
    await quorumJob(store, { count: 3, quorum: 2 })
    const t0 = Date.now()
    await store.touchDevice(A, t0)
    const judge = async (at: number, verdicts: [index: number, state: 'valid' | 'invalid', flopsPerMs?: number][]) => {
      await store.insertResults(verdicts.map(([i]) => result(unitIds[i], A, at)))
      await store.recordVerdicts(
        verdicts.map(([i, state, flopsPerMs]) => ({ resultId: `r-A-${unitIds[i]}`, state, reason: state === 'invalid' ? 'wrong' : null, flopsPerMs })),
        at + 1,
      )
    }
    const speed = async () => (await store.creditSince([A], 0)).get(A)?.flopsPerMs
    expect(await leaseIds(A, t0, { max: 10 })).toEqual(unitIds)
    // Three valid results in one batch: the speed's average takes them in order; the streak is 3.
    await judge(t0 + 1, [[0, 'valid', 10], [1, 'valid', 20], [2, 'valid', 30]])
    expect(await speed()).toBeCloseTo(18.1, 9) // 10, then 0.7·10 + 0.3·20 = 13, then 0.7·13 + 0.3·30
    // A streak of 3 is not over a minimum of 3 (no unit alone), and is over 2 (with random() = 0, always alone).
    const alone = async (minStreak: number) => {
      const [unit] = await store.leaseUnits({ deviceId: A, max: 1, now: t0 + 5, deadline: t0 + LEASE_MS, trust: { minStreak, random: () => 0 } })
      return unit.wanted === 1
    }
    expect(await alone(3)).toBe(false)
    expect(await alone(2)).toBe(true)
    // Valid, valid, invalid: the speed moves twice, the quota halves once, the streak restarts.
    await judge(t0 + 10, [[3, 'valid', 40], [4, 'valid', 50], [5, 'invalid']])
    expect(await speed()).toBeCloseTo(0.7 * (0.7 * 18.1 + 0.3 * 40) + 0.3 * 50, 9)
    expect((await store.deviceQuota(A, t0, 8)).quota).toBe(4)
    // Three valid results double the quota back once, not three times past the hub's; the speed stays without samples.
    await judge(t0 + 20, [[6, 'valid'], [7, 'valid'], [8, 'valid']])
    expect((await store.deviceQuota(A, t0, 8)).quota).toBe(8)
    // The streak is the 3 valid results after the invalid one (not 8 in all).
    expect(await alone(3)).toBe(false)
    await judge(t0 + 30, [[9, 'invalid']])
    expect((await store.deviceQuota(A, t0, 8)).quota).toBe(4)
    expect(await speed()).toBeCloseTo(0.7 * (0.7 * 18.1 + 0.3 * 40) + 0.3 * 50, 9)
  })
})

describe('SQLite store: schema migrations', () => {
  it('keeps the credit of a version-1 ledger when it gains kinds and receipts, and the ledger stays append-only', async () => {
    const tmp = tempDir()
    const file = path.join(tmp.dir, 'old.sqlite')
    try {
      // A hub database from before bandwidth receipts: one credited result.
      const old = new Database(file)
      old.exec(MIGRATIONS[0])
      old.pragma('user_version = 1')
      old.prepare('INSERT INTO devices (id, first_seen, last_seen) VALUES (?, 1, 1)').run(A)
      old.prepare(`INSERT INTO ledger (device_id, result_id, amount_flops, created_at) VALUES (?, 'r1', 1000, 5)`).run(A)
      old.close()

      const migrated = openSqliteStore(file)
      expect(await migrated.deviceLedger(A, 10)).toEqual([
        { seq: 1, deviceId: A, kind: 'compute', resultId: 'r1', receiptId: null, amountFlops: 1000, createdAt: 5 },
      ])
      expect(await migrated.deviceSummary(A)).toMatchObject({ creditFlops: 1000, bandwidth: { servedBytes: 0, creditFlops: 0 } })
      await migrated.appendLedger([{ resultId: 'r2', deviceId: A, amountFlops: 10 }], 6)
      expect((await migrated.deviceLedger(A, 10)).map((e) => e.seq)).toEqual([1, 2])
      await migrated.close()

      const db = new Database(file)
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
      expect(() => db.prepare('UPDATE ledger SET amount_flops = 1e18').run()).toThrow(/append-only/)
      expect(() => db.prepare('DELETE FROM ledger').run()).toThrow(/append-only/)
      // A row must say what it credits: a compute row without a result is refused by the table itself.
      expect(() => db.prepare(`INSERT INTO ledger (device_id, kind, amount_flops, created_at) VALUES ('x', 'compute', 1, 1)`).run()).toThrow(
        /CHECK constraint failed/,
      )
      db.close()
    } finally {
      tmp.remove()
    }
  })
})

describe('SQLite store: partner attribution (schema 4)', () => {
  it('leaves results from before partners unattributed, and attributes new ones through their lease', async () => {
    const tmp = tempDir()
    const file = path.join(tmp.dir, 'v3.sqlite')
    try {
      // A hub database at schema 3 with one credited result from the app.
      const old = new Database(file)
      for (const sql of MIGRATIONS.slice(0, 3)) old.exec(sql)
      old.pragma('user_version = 3')
      old.exec(`
        INSERT INTO jobs (id, workload, version, state, params, created_at) VALUES ('j0', 'matmul', 1, 'done', '{}', 1);
        INSERT INTO units (id, job_id, idx, state, cost_flops, spec, inputs) VALUES ('u0', 'j0', 0, 'done', 1000, '{}', '[]');
        INSERT INTO leases (unit_id, device_id, leased_at, deadline) VALUES ('u0', '${B}', 1, 2);
        INSERT INTO results (id, unit_id, device_id, state, output, backend, elapsed_ms, received_at, validated_at, credited_at)
          VALUES ('r0', 'u0', '${B}', 'valid', x'00', 'cpu', 1, 1, 1, 1);
        INSERT INTO ledger (device_id, kind, result_id, amount_flops, created_at) VALUES ('${B}', 'compute', 'r0', 1000, 1);
      `)
      old.close()

      store = openSqliteStore(file)
      ingest = createIngest(store)
      expect(await store.partnerTotals()).toEqual([])
      await job({ m: 32, n: 32, k: 32, tile: 32 })
      const [unit] = await leaseWork(store, { deviceId: A, max: 1, backends: ['cpu'], leaseMs: LEASE_MS, partner: 'example-news' })
      await submit(A, unit, await correctOutput(unit))
      await validateResults(store)
      await creditResults(store)
      expect(await store.partnerTotals()).toEqual([{ partner: 'example-news', units: 1, creditFlops: 2 * 32 * 32 * 32, devices: 1 }])
      expect((await store.deviceSummary(B)).creditFlops).toBe(1000)
    } finally {
      await store.close()
      tmp.remove()
    }
  })
})

describe.each(storeKinds)('$kind store: two hubs on one database', ({ open }) => {
  let opened: OpenedStore
  let other: Store

  beforeEach(async () => {
    opened = await open()
    store = opened.store
    ingest = createIngest(store)
    other = await opened.another()
  })

  afterEach(async () => {
    await opened.close()
  })

  it('never lease one unit twice when both lease at once', async () => {
    const created = await job({ m: 128, n: 128, k: 16, tile: 16 })
    expect(created.units.total).toBe(64)
    const devices = Array.from({ length: 24 }, (_, i) => `device-${String(i).padStart(2, '0')}`.padEnd(43, 'x'))
    const t0 = Date.now()
    const leased = await Promise.all(
      devices.map((deviceId, i) =>
        (i % 2 ? other : store).leaseUnits({ deviceId, max: 4, now: t0, deadline: t0 + LEASE_MS }).then((units) => units.map((u) => u.id)),
      ),
    )
    const all = leased.flat()
    expect(new Set(all).size).toBe(all.length)
    expect(all.length).toBe(64)
    expect((await store.counts()).leases).toBe(64)
    expect(await store.unitStates()).toEqual({ unsent: 0, leased: 64, returned: 0, done: 0 })
  })

  it('store a result sent to both once, and credit it once when both credit loops run', async () => {
    await job({ m: 16, n: 16, k: 16, tile: 16 })
    const [unit] = await leaseWork(store, { deviceId: A, max: 1, backends: ['cpu'], leaseMs: LEASE_MS })
    const item = { resultId: 'r-both', unitId: unit.unitId, deviceId: A, output: await correctOutput(unit), backend: 'cpu' as const, elapsedMs: 1, receivedAt: Date.now() }
    const outcomes = (await Promise.all([store.insertResults([item]), other.insertResults([item])])).flat()
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['accepted', 'duplicate'])

    const verdict = [{ resultId: 'r-both', state: 'valid' as const, reason: null }]
    await Promise.all([store.recordVerdicts(verdict, Date.now()), other.recordVerdicts(verdict, Date.now())])
    expect((await store.getUnit(unit.unitId))?.state).toBe('done')
    const entries = [{ resultId: 'r-both', deviceId: A, amountFlops: 1000 }]
    const written = await Promise.all([store.appendLedger(entries, Date.now()), other.appendLedger(entries, Date.now())])
    expect(written.sort()).toEqual([0, 1])
    expect((await store.deviceLedger(A, 10)).map((e) => e.resultId)).toEqual(['r-both'])
  })

  it('keep each result in its unit when both store batches for the same units at once', async () => {
    const created = await job({ m: 64, n: 64, k: 16, tile: 16 })
    expect(created.units.total).toBe(16)
    const unitIds = Array.from({ length: 16 }, (_, i) => `${created.id}-${i}`)
    const now = Date.now()
    const devices = [A, B, C]
    // Each device in turn leases every unit, the one before it letting its lease expire: each unit has three lessees.
    for (const [i, deviceId] of devices.entries()) {
      expect(await (i % 2 ? other : store).leaseUnits({ deviceId, max: 16, now: now + 2 * i, deadline: now + 2 * i + 1 })).toHaveLength(16)
    }
    const items = devices.flatMap((deviceId) =>
      unitIds.map((unitId) => ({
        resultId: `${deviceId.slice(0, 1)}-${unitId}`,
        unitId,
        deviceId,
        output: new Uint8Array(16 * 16 * 4),
        backend: 'cpu' as const,
        elapsedMs: 1,
        receivedAt: now,
      })),
    )
    // Interleaved halves in opposite orders: the two transactions want the same units' locks.
    const evens = items.filter((_, i) => i % 2 === 0)
    const odds = items.filter((_, i) => i % 2 === 1).reverse()
    const outcomes = (await Promise.all([store.insertResults(evens), other.insertResults(odds)])).flat()
    expect(outcomes.filter((o) => o.kind !== 'accepted')).toEqual([])
    expect((await store.counts()).results).toBe(48)
    expect(await store.unitStates()).toEqual({ unsent: 0, leased: 0, returned: 16, done: 0 })
  })
})

describe('Postgres store: row locks', () => {
  it("stores a recently seen device's results without waiting for its row, which a lease or a verdict may hold", async () => {
    const database = await freshPostgresDatabase()
    const pgStore = await openPostgresStore(database.url, { maxConnections: 4 })
    const holder = new pg.Client({ connectionString: database.url })
    await holder.connect()
    try {
      const created = await job({ m: 32, n: 16, k: 16, tile: 16 }, 1, pgStore)
      const t0 = Date.now()
      await pgStore.touchDevice(A, t0)
      const [u0, u1] = await pgStore.leaseUnits({ deviceId: A, max: 2, now: t0, deadline: t0 + 3 * LEASE_MS })
      expect(created.units.total).toBe(2)
      const item = (unitId: string, receivedAt: number) => ({
        resultId: `r-${unitId}`,
        unitId,
        deviceId: A,
        output: new Uint8Array(16 * 16 * 4),
        backend: 'cpu' as const,
        elapsedMs: 1,
        receivedAt,
      })
      // Another transaction holds A's row, as a lease group or a verdict transaction does while it runs.
      await holder.query('BEGIN')
      await holder.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [A])
      const stored = pgStore.insertResults([item(u0.id, t0 + 1_000)])
      const waited = new Promise((resolve) => setTimeout(() => resolve('waited for the row'), 5_000))
      expect(await Promise.race([stored, waited])).toEqual([{ kind: 'accepted', state: 'returned' }])
      await holder.query('ROLLBACK')
      const [{ last_seen: seen }] = await database.query<{ last_seen: string }>('SELECT last_seen FROM devices WHERE id = $1', [A])
      expect(Number(seen)).toBe(t0)
      // Seen over a minute ago: storing its results writes it again.
      expect(await pgStore.insertResults([item(u1.id, t0 + 61_000)])).toEqual([{ kind: 'accepted', state: 'returned' }])
      const [{ last_seen: later }] = await database.query<{ last_seen: string }>('SELECT last_seen FROM devices WHERE id = $1', [A])
      expect(Number(later)).toBe(t0 + 61_000)
    } finally {
      await holder.end()
      await pgStore.close()
      await database.drop()
    }
  })
  it("runs the validator's and credit loop's work on connections of their own while requests hold every other one", async () => {
    const database = await freshPostgresDatabase()
    const pgStore = await openPostgresStore(database.url, { maxConnections: 1 })
    const holder = new pg.Client({ connectionString: database.url })
    await holder.connect()
    try {
      await job({ m: 32, n: 16, k: 16, tile: 16 }, 1, pgStore)
      const t0 = Date.now()
      const [u0, u1] = await pgStore.leaseUnits({ deviceId: A, max: 2, now: t0, deadline: t0 + 3 * LEASE_MS })
      const item = (unitId: string) => ({ resultId: `r-${unitId}`, unitId, deviceId: A, output: new Uint8Array(16 * 16 * 4), backend: 'cpu' as const, elapsedMs: 1, receivedAt: t0 + 1 })
      expect(await pgStore.insertResults([item(u0.id)])).toEqual([{ kind: 'accepted', state: 'returned' }])
      // An upload waits on u1's row, which another transaction holds: it keeps the requests' only connection.
      await holder.query('BEGIN')
      await holder.query('SELECT 1 FROM units WHERE id = $1 FOR UPDATE', [u1.id])
      const upload = pgStore.insertResults([item(u1.id)])
      const stuck = await Promise.race([upload.then(() => 'stored'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))])
      expect(stuck).toBe('waiting')
      // Reading, judging and crediting u0's result does not wait for it.
      const waited = new Promise((resolve) => setTimeout(() => resolve('waited for a connection'), 5_000))
      const loops = (async () => {
        const pending = await pgStore.pendingResults(10)
        expect(pending.map((r) => r.resultId)).toEqual([`r-${u0.id}`])
        await pgStore.recordVerdicts([{ resultId: `r-${u0.id}`, state: 'valid', reason: null }], t0 + 2)
        const [candidate] = await pgStore.uncreditedResults(10)
        return pgStore.appendLedger([{ resultId: candidate.resultId, deviceId: A, amountFlops: candidate.costFlops }], t0 + 3)
      })()
      expect(await Promise.race([loops, waited])).toBe(1)
      await holder.query('ROLLBACK')
      expect(await upload).toEqual([{ kind: 'accepted', state: 'returned' }])
    } finally {
      await holder.end()
      await pgStore.close()
      await database.drop()
    }
  })
})

describe("Postgres store: two hubs' validators", () => {
  it('never check the same result: a pass skips the results another pass holds until its verdicts commit', async () => {
    const database = await freshPostgresDatabase()
    const stores = await Promise.all([1, 2].map(() => openPostgresStore(database.url, { maxConnections: 2 })))
    try {
      const created = await job({ m: 64, n: 64, k: 16, tile: 16 }, 1, stores[0])
      expect(created.units.total).toBe(16)
      const t0 = Date.now()
      const units = await stores[0].leaseUnits({ deviceId: A, max: 16, now: t0, deadline: t0 + LEASE_MS })
      const items = await Promise.all(
        units.map(async (u) => {
          const [a, b] = await Promise.all(u.inputs.map(async (h) => (await stores[0].getBlob(h))!))
          const spec = u.spec as { m: number; n: number; k: number }
          const c = new Float32Array(spec.m * spec.n)
          matmulRows(bytesToF32(a), bytesToF32(b), c, spec.n, spec.k, 0, spec.m)
          return { resultId: `r-${u.id}`, unitId: u.id, deviceId: A, output: f32ToBytes(c), backend: 'cpu' as const, elapsedMs: 1, receivedAt: t0 + 1_000 }
        }),
      )
      expect((await stores[0].insertResults(items)).every((o) => o.kind === 'accepted')).toBe(true)
      // Both hubs' passes start at once and judge slowly (each input read takes 20 ms): each reads while the other judges.
      const slowBlobs = (on: Store) => async (hash: string) => {
        await new Promise((resolve) => setTimeout(resolve, 20))
        return on.getBlob(hash)
      }
      const checked = await Promise.all(stores.map((on) => validateResults(on, { getBlob: slowBlobs(on), batch: 16, budgetMs: 60_000 })))
      expect(checked[0] + checked[1]).toBe(16)
      const verdicts = await database.query<{ n: string }>("SELECT COUNT(*) AS n FROM decisions WHERE kind = 'verdict' GROUP BY result_id")
      expect(verdicts.map((v) => Number(v.n))).toEqual(Array(16).fill(1))
      expect(await stores[0].unitStates()).toEqual({ unsent: 0, leased: 0, returned: 0, done: 16 })
    } finally {
      await Promise.all(stores.map((s) => s.close()))
      await database.drop()
    }
  })
})

describe('Postgres store: schema', () => {
  it('migrates once when several hubs start at the same moment, and refuses a schema newer than it knows', async () => {
    const database = await freshPostgresDatabase()
    try {
      const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(database.url, { maxConnections: 2 })))
      for (const s of stores) await s.close()
      expect(await database.query('SELECT version FROM schema_migrations ORDER BY version')).toEqual(
        POSTGRES_MIGRATIONS.map((_, i) => ({ version: i + 1 })),
      )
      await database.query('INSERT INTO schema_migrations (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length + 1])
      await expect(openPostgresStore(database.url)).rejects.toThrow(/newer than this hub knows/)
      // A row must say what it credits: a compute row without a result is refused by the table itself.
      await expect(database.query(`INSERT INTO ledger (device_id, kind, amount_flops, created_at) VALUES ('x', 'compute', 1, 1)`)).rejects.toThrow(
        /check constraint/,
      )
    } finally {
      await database.drop()
    }
  })
})

describe('Postgres store: job progress (schema 6)', () => {
  it("counts the units of jobs made before schema 6 (a job's unit count is filled in), and of new ones", async () => {
    const database = await freshPostgresDatabase()
    let pgStore: Store | undefined
    try {
      // A hub database at schema 5 with a job of three units: one done, one done with an error, one leased.
      await database.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
      for (const [i, sql] of POSTGRES_MIGRATIONS.slice(0, 5).entries()) {
        await database.query(sql)
        await database.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1])
      }
      await database.query(`INSERT INTO jobs (id, workload, version, state, params, created_at) VALUES ('j0', 'matmul', 1, 'open', '{}', 1)`)
      await database.query(`INSERT INTO units (id, job_id, job_seq, idx, state, cost_flops, spec, inputs, error)
        SELECT 'u' || i, 'j0', (SELECT seq FROM jobs), i, s, 1000, '{}', '[]', e
        FROM (VALUES (0, 'done', NULL), (1, 'done', 'no 2 of its 2 results agreed'), (2, 'leased', NULL)) AS v (i, s, e)`)

      pgStore = await openPostgresStore(database.url)
      expect((await pgStore.getJob('j0'))?.units).toEqual({ total: 3, unsent: 0, leased: 1, returned: 0, done: 2, error: 1 })
      const created = await createJob(pgStore, { request: { workload: 'matmul', params: { m: 32, n: 32, k: 32, tile: 16, inputs: { kind: 'random', seed: 1 } } } })
      expect((await pgStore.listJobs(10)).map((j) => [j.id, j.units])).toEqual([
        [created.id, { total: 4, unsent: 4, leased: 0, returned: 0, done: 0, error: 0 }],
        ['j0', { total: 3, unsent: 0, leased: 1, returned: 0, done: 2, error: 1 }],
      ])
    } finally {
      await pgStore?.close()
      await database.drop()
    }
  })
})

describe('DATABASE_URL', () => {
  it('selects Postgres for a postgres URL and keeps SQLite in DATA_DIR otherwise', async () => {
    const database = await freshPostgresDatabase()
    const tmp = tempDir()
    try {
      const url = database.url.replace(/^postgres:/, 'postgresql:')
      expect(hubOptionsFromEnv({ DATABASE_URL: ` ${url} ` }).databaseUrl).toBe(url)
      const postgres = await openStore({ dataDir: tmp.dir, databaseUrl: hubOptionsFromEnv({ DATABASE_URL: url }).databaseUrl })
      expect(postgres.kind).toBe('postgres')
      await postgres.close()
      const sqlite = await openStore({ dataDir: tmp.dir, databaseUrl: hubOptionsFromEnv({ DATABASE_URL: '' }).databaseUrl })
      expect(sqlite.kind).toBe('sqlite')
      await sqlite.close()
    } finally {
      tmp.remove()
      await database.drop()
    }
  })

  it('refuses a URL that is not Postgres, naming the variable and hiding the password', () => {
    expect(() => hubOptionsFromEnv({ DATABASE_URL: 'mysql://hub:s3cret@db.example.org/meshwork' })).toThrow(
      'DATABASE_URL must be a postgres:// or postgresql:// URL such as postgres://meshwork:secret@db.example.org:5432/meshwork (unset for SQLite in DATA_DIR), got "mysql://hub:***@db.example.org/meshwork".',
    )
    expect(() => hubOptionsFromEnv({ DATABASE_URL: 'postgres://hub:s3cret@db.example.org:99999/meshwork' })).toThrow(/DATABASE_URL must be .*hub:\*\*\*@/)
    expect(hubOptionsFromEnv({ DATABASE_URL: 'postgres://hub@/meshwork?host=/run/postgresql' }).databaseUrl).toBe('postgres://hub@/meshwork?host=/run/postgresql')
  })
})
