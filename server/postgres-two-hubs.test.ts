/**
 * Two real hub processes on one Postgres database (DATABASE_URL), started at the same moment (so both migrate at once),
 * with 50 simulated volunteers (real device keys, signed requests, the real kernel) spread over both: each leases from
 * its own hub and submits every other result through the other one. No request gets a 5xx, no unit is leased to two
 * devices at once (checked in the leases table), every unit is done, and each has exactly one compute ledger row.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startHub, type Hub } from '../e2e/start-hub.ts'
import { freshPostgresDatabase, type TestPostgresDatabase } from './store/test-stores.ts'
import { tempDir, Volunteer } from './test-helpers.ts'

const VOLUNTEERS = 50
const ENV = { MESHWORK_DEMO: 'off', MESHWORK_P2P: 'off', MESHWORK_RATE_DEVICE: '0', MESHWORK_RATE_NETWORK: '0' }
const dirs = [tempDir(), tempDir()]
let hubs: Hub[] = []
let database: TestPostgresDatabase | undefined

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.stop()))
  await database?.drop()
  for (const d of dirs) d.remove()
})

describe(`two hubs on one Postgres database, ${VOLUNTEERS} volunteers`, () => {
  it('lease no unit twice at once, finish every unit and credit each exactly once, with no 5xx', async () => {
    database = await freshPostgresDatabase()
    const env = { ...ENV, DATABASE_URL: database.url }
    hubs = await Promise.all(dirs.map((d) => startHub({}, d.dir, env)))
    // 20 x 20 tiles of 16 x 16 with k = 8: 400 small units.
    const created = await hubs[0].owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'matmul', label: 'two hubs', params: { m: 320, n: 320, k: 8, tile: 16, inputs: { kind: 'random', seed: 5 } } }),
    })
    expect(created.status, await created.clone().text()).toBe(201)
    const job = (await created.json()) as { id: string; units: { total: number } }
    expect(job.units.total).toBe(400)

    const serverErrors: string[] = []
    const acked = [0, 0]
    const check = async (response: Response, what: string): Promise<string> => {
      const text = await response.text()
      if (response.status >= 500) serverErrors.push(`${what} -> ${response.status} ${text.slice(0, 200)}`)
      return text
    }
    const jobState = async (hub: Hub) => ((await (await hub.owner(`/jobs/${job.id}`)).json()) as { state: string }).state

    const started = Date.now()
    const deadline = started + 90_000
    await Promise.all(
      Array.from({ length: VOLUNTEERS }, async (_, i) => {
        const home = await Volunteer.create(hubs[i % 2].url)
        // The same device through the other hub: a result may arrive at either.
        const away = new Volunteer(hubs[(i + 1) % 2].url, home.key)
        let n = 0
        while (Date.now() < deadline) {
          const lease = await home.request('POST', '/work/lease', { max: 2, backends: ['cpu'] })
          const body = await check(lease, 'lease')
          if (lease.status !== 200) {
            await new Promise((resolve) => setTimeout(resolve, 100))
            continue
          }
          const units = (JSON.parse(body) as { units: import('../protocol/schemas.ts').LeasedUnit[] }).units
          if (units.length === 0) {
            if ((await jobState(hubs[i % 2])) === 'done') return
            await new Promise((resolve) => setTimeout(resolve, 100))
            continue
          }
          for (const unit of units) {
            const via = n++ % 2 ? away : home
            const submitted = await via.submit(unit.unitId, await home.compute(unit))
            await check(submitted, 'submit')
            if (submitted.status === 200) acked[via === home ? i % 2 : (i + 1) % 2]++
          }
        }
      }),
    )
    const seconds = (Date.now() - started) / 1000
    console.log(
      `two hubs: ${job.units.total} units done in ${seconds.toFixed(1)} s (${Math.round(job.units.total / seconds)} units/s); results acknowledged by hub 1: ${acked[0]}, hub 2: ${acked[1]}`,
    )
    expect(serverErrors.slice(0, 10)).toEqual([])
    expect(await jobState(hubs[1])).toBe('done')
    expect(acked[0]).toBeGreaterThan(0)
    expect(acked[1]).toBeGreaterThan(0)

    // No unit was leased to two devices at once: a later lease of a unit starts only after the earlier one's deadline.
    const overlapping = await database.query(
      `SELECT a.unit_id, a.device_id AS first, b.device_id AS second FROM leases a JOIN leases b
       ON b.unit_id = a.unit_id AND b.id > a.id AND b.leased_at < a.deadline`,
    )
    expect(overlapping).toEqual([])
    const [{ leases }] = await database.query<{ leases: string }>('SELECT COUNT(*) AS leases FROM leases')
    expect(Number(leases)).toBe(job.units.total)

    expect(await database.query(`SELECT state, COUNT(*)::int AS n FROM units GROUP BY state`)).toEqual([{ state: 'done', n: job.units.total }])
    const credits = await database.query<{ unit: string; n: number }>(
      `SELECT r.unit_id AS unit, COUNT(*)::int AS n FROM ledger l JOIN results r ON r.id = l.result_id WHERE l.kind = 'compute' GROUP BY r.unit_id`,
    )
    expect(credits.length).toBe(job.units.total)
    expect(credits.filter((c) => c.n !== 1)).toEqual([])
  }, 120_000)
})
