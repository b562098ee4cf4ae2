/**
 * The crash test: a real hub process is killed with SIGKILL while 100 simulated volunteers (real device keys, signed
 * requests, the real kernel) lease and submit. After a restart on the same data directory: every result the hub
 * acknowledged is in the store, no unit is credited twice, and the units leased before the crash are re-issued once
 * their lease deadline has passed, so the job still completes with every unit credited exactly once.
 */
import Database from 'better-sqlite3'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startHub, type Hub } from '../e2e/start-hub.ts'
import { tempDir, Volunteer } from './test-helpers.ts'

const LEASE_MS = 4000
const dir = tempDir()
let hub: Hub | undefined

afterAll(async () => {
  await hub?.stop()
  dir.remove()
})

const ENV = { MESHWORK_DEMO: 'off', MESHWORK_LEASE_MS: String(LEASE_MS), MESHWORK_RATE_DEVICE: '0', MESHWORK_RATE_NETWORK: '0', MESHWORK_P2P: 'off' }

describe('a hub killed with SIGKILL while 100 volunteers submit', () => {
  it('keeps every acknowledged result, credits no unit twice, and re-issues the units leased before the crash', async () => {
    hub = await startHub({}, dir.dir, ENV)
    const port = hub.port
    const created = await hub.owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'matmul', label: 'crash', params: { m: 512, n: 512, k: 32, tile: 16, inputs: { kind: 'random', seed: 3 } } }),
    })
    expect(created.status).toBe(201)
    const job = (await created.json()) as { id: string; units: { total: number } }

    const volunteers = await Promise.all(Array.from({ length: 100 }, () => Volunteer.create(hub!.url)))
    const acked = new Map<string, { resultId: string; unitId: string }[]>()
    let running = true
    const work = volunteers.map(async (v) => {
      const mine: { resultId: string; unitId: string }[] = []
      acked.set(v.deviceId, mine)
      while (running) {
        try {
          for (const unit of await v.lease(2)) {
            const resultId = crypto.randomUUID()
            const response = await v.submit(unit.unitId, await v.compute(unit), resultId)
            if (response.status === 200) mine.push({ resultId, unitId: unit.unitId })
          }
        } catch {
          return // the hub is gone
        }
      }
    })
    // Let them get going, then crash the hub mid-stream.
    while ([...acked.values()].reduce((n, a) => n + a.length, 0) < 150) await new Promise((r) => setTimeout(r, 20))
    await hub.kill()
    running = false
    await Promise.all(work)
    const acknowledged = [...acked.values()].flat()
    expect(acknowledged.length).toBeGreaterThanOrEqual(150)

    // Durable before acknowledged: every acknowledged result is on disk, exactly as acknowledged.
    const db = new Database(path.join(dir.dir, 'meshwork.sqlite'), { readonly: true })
    const stored = new Map((db.prepare('SELECT id, unit_id FROM results').all() as { id: string; unit_id: string }[]).map((r) => [r.id, r.unit_id]))
    db.close()
    for (const { resultId, unitId } of acknowledged) expect(stored.get(resultId), resultId).toBe(unitId)

    // Restart on the same data; a fresh volunteer finishes the job once the crashed leases expire.
    hub = await startHub({}, dir.dir, ENV, port)
    const finisher = await Volunteer.create(hub.url)
    const deadline = Date.now() + 60_000
    let state = ''
    let reissued = 0
    while (Date.now() < deadline) {
      state = ((await (await hub.owner(`/jobs/${job.id}`)).json()) as { state: string }).state
      if (state === 'done') break
      const units = await finisher.lease(16)
      for (const unit of units) {
        reissued++
        expect((await finisher.submit(unit.unitId, await finisher.compute(unit))).status).toBe(200)
      }
      if (!units.length) await new Promise((r) => setTimeout(r, 250))
    }
    expect(state).toBe('done')
    expect(reissued).toBeGreaterThan(0)

    // Every unit credited exactly once, and only for a result the hub stored.
    const after = new Database(path.join(dir.dir, 'meshwork.sqlite'), { readonly: true })
    const credits = after
      .prepare(`SELECT r.unit_id AS unit, COUNT(*) AS n FROM ledger l JOIN results r ON r.id = l.result_id WHERE l.kind = 'compute' GROUP BY r.unit_id`)
      .all() as { unit: string; n: number }[]
    after.close()
    expect(credits.length).toBe(job.units.total)
    expect(credits.filter((c) => c.n !== 1)).toEqual([])
  }, 150_000)
})
