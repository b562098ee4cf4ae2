/**
 * The unit and result state machine on a real SQLite file, driven through the same operations the hub's loops and
 * routes use (leaseWork, ingest, validateResults, creditResults), without HTTP.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytesToF32, f32ToBytes } from '../../protocol/encoding.ts'
import type { LeasedUnit } from '../../protocol/schemas.ts'
import { matmul, matmulRows } from '../../workloads/matmul/index.ts'
import { createJob } from '../create-job.ts'
import { createIngest, type Ingest } from '../ingest.ts'
import { creditResults } from '../loops/credit.ts'
import { expireLeases, leaseWork } from '../loops/scheduler.ts'
import { validateResults } from '../loops/validator.ts'
import { tempDir } from '../test-helpers.ts'
import { MIGRATIONS, openSqliteStore, type SqliteStore } from './sqlite.ts'

const LEASE_MS = 60_000
const A = 'A'.repeat(43)
const B = 'B'.repeat(43)
const C = 'C'.repeat(43)

let store: SqliteStore
let ingest: Ingest
let cleanup: () => void
let dbFile: string

beforeEach(() => {
  const tmp = tempDir()
  cleanup = tmp.remove
  dbFile = path.join(tmp.dir, 'store.sqlite')
  store = openSqliteStore(dbFile)
  ingest = createIngest(store)
})

afterEach(async () => {
  await store.close()
  cleanup()
})

async function job(params: { m: number; n: number; k: number; tile: number }, seed = 1) {
  return createJob(store, { request: { workload: 'matmul', params: { ...params, inputs: { kind: 'random', seed } } } })
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

describe('SQLite store: a unit from lease to credit', () => {
  it('leases, stores, verifies and credits a result by the cost model, then finishes the job', async () => {
    const created = await job({ m: 32, n: 32, k: 48, tile: 16 })
    expect(created.units).toMatchObject({ total: 4, unsent: 4, done: 0 })

    const units = await leaseWork(store, { deviceId: A, max: 16, backends: ['cpu'], leaseMs: LEASE_MS })
    expect(units.map((u) => u.unitId)).toEqual([0, 1, 2, 3].map((i) => `${created.id}-${i}`))
    expect((await store.getUnit(units[0].unitId))?.state).toBe('leased')

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
    // The store has no method that edits the ledger; this opens the file beside it to show the table itself refuses.
    const db = new Database(dbFile)
    expect(() => db.prepare('UPDATE ledger SET amount_flops = 1e18').run()).toThrow(/append-only/)
    expect(() => db.prepare('DELETE FROM ledger').run()).toThrow(/append-only/)
    db.close()
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

      await store.close()
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
      tmp.remove()
    }
  })
})
