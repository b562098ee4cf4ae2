/**
 * The load test: 1,000 simulated volunteers (real device keys, signed requests, the real kernel on tiny units) lease
 * and submit against a real hub process for 60 s (MESHWORK_LOAD_SECONDS), each taking about 2 s per unit (as if it
 * computed it). No request may get a 5xx, and every result
 * the hub acknowledged must be in its store afterwards.
 */
import Database from 'better-sqlite3'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startHub, type Hub } from '../e2e/start-hub.ts'
import { tempDir, Volunteer } from './test-helpers.ts'

const SECONDS = Number(process.env.MESHWORK_LOAD_SECONDS ?? 60)
const VOLUNTEERS = 1000
const dir = tempDir()
let hub: Hub | undefined

afterAll(async () => {
  await hub?.stop()
  dir.remove()
})

describe(`${VOLUNTEERS} volunteers for ${SECONDS} s`, () => {
  it('get no 5xx, and every acknowledged result is stored', async () => {
    // Rate limits off: every simulated volunteer shares this machine's loopback network.
    hub = await startHub({}, dir.dir, { MESHWORK_DEMO: 'off', MESHWORK_P2P: 'off', MESHWORK_RATE_DEVICE: '0', MESHWORK_RATE_NETWORK: '0' })
    // Four jobs of 16,384 tiny units (the most a job may have): more work than a minute of this load gets through.
    for (let seed = 1; seed <= 4; seed++) {
      const created = await hub.owner('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workload: 'matmul', label: `load ${seed}`, params: { m: 2048, n: 2048, k: 8, tile: 16, inputs: { kind: 'random', seed } } }),
      })
      expect(created.status, await created.clone().text()).toBe(201)
    }

    const volunteers = await Promise.all(Array.from({ length: VOLUNTEERS }, () => Volunteer.create(hub!.url)))
    const statuses = new Map<number, number>()
    const serverErrors: string[] = []
    const acked: string[] = []
    const count = (status: number, what: string, text: string) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      if (status >= 500) serverErrors.push(`${what} -> ${status} ${text.slice(0, 120)}`)
    }
    const end = Date.now() + SECONDS * 1000
    /** Requests that got no answer (a connection refused or timed out): counted, never a 5xx, and retried. */
    let unanswered = 0
    await Promise.all(
      volunteers.map(async (v, i) => {
        // Volunteers arrive over the first 5 s, as they would, rather than 1,000 connections in one instant (more than
        // the listen backlog of 511).
        await new Promise((resolve) => setTimeout(resolve, (i / VOLUNTEERS) * 5000))
        while (Date.now() < end) {
          try {
            await step(v)
            // A volunteer's unit takes a while to compute: about 2 s here, the tiny kernel's time aside.
            await new Promise((resolve) => setTimeout(resolve, 1500 + Math.random() * 1000))
          } catch {
            unanswered++
            await new Promise((resolve) => setTimeout(resolve, 500))
          }
        }
      }),
    )
    /** One lease, and the unit it brought computed and submitted. */
    async function step(v: Volunteer): Promise<void> {
      const lease = await v.request('POST', '/work/lease', { max: 1, backends: ['cpu'] })
      const body = await lease.text()
      count(lease.status, 'lease', body)
      if (lease.status !== 200) return
      const units = (JSON.parse(body) as { units: import('../protocol/schemas.ts').LeasedUnit[] }).units
      if (!units.length) await new Promise((resolve) => setTimeout(resolve, 250))
      for (const unit of units) {
        const resultId = crypto.randomUUID()
        const submitted = await v.submit(unit.unitId, await v.compute(unit), resultId)
        const text = await submitted.text()
        count(submitted.status, 'submit', text)
        if (submitted.status === 200) acked.push(resultId)
      }
    }
    expect(serverErrors.slice(0, 10)).toEqual([])
    expect(acked.length).toBeGreaterThan(VOLUNTEERS)
    const answered = [...statuses.values()].reduce((a, b) => a + b, 0)
    console.log(`load: ${acked.length} results acknowledged in ${SECONDS} s (${Math.round(acked.length / SECONDS)}/s); statuses ${JSON.stringify(Object.fromEntries(statuses))}; unanswered ${unanswered}`)
    // A request without an answer is the machine's loopback overloaded (vitest runs other files beside this one), not
    // the hub failing one: tolerated up to 1 % and reported.
    expect(unanswered).toBeLessThanOrEqual(answered / 100)

    await hub.stop()
    hub = undefined
    const db = new Database(path.join(dir.dir, 'meshwork.sqlite'), { readonly: true })
    const stored = new Set((db.prepare('SELECT id FROM results').all() as { id: string }[]).map((r) => r.id))
    db.close()
    expect(acked.filter((id) => !stored.has(id))).toEqual([])
  }, (SECONDS + 120) * 1000)
})
