/**
 * Partner attribution (issue 5): work leased and returned through a partner's widget records the partner, the owner's
 * `GET /partners` reports verified work per partner, and an invalid partner id is refused naming the field. A real hub,
 * real device keys and the real kernel, as in api.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toBase64 } from '../../protocol/encoding.ts'
import type { CurrentWork, LeasedUnit, LeaseResponse, PartnerReport } from '../../protocol/schemas.ts'
import { startTestHub, Volunteer, waitFor, type TestHub } from '../test-helpers.ts'

let t: TestHub

beforeAll(async () => {
  t = await startTestHub()
})

afterAll(async () => {
  await t.close()
})

async function leaseThrough(volunteer: Volunteer, partner: string | undefined, max = 16): Promise<LeasedUnit[]> {
  const response = await volunteer.request('POST', '/work/lease', { max, backends: ['cpu'], ...(partner === undefined ? {} : { partner }) })
  expect(response.status).toBe(200)
  return ((await response.json()) as LeaseResponse).units
}

async function submit(volunteer: Volunteer, unit: LeasedUnit, partner?: string): Promise<Response> {
  const output = await volunteer.compute(unit)
  return volunteer.request('POST', '/results', {
    resultId: crypto.randomUUID(),
    unitId: unit.unitId,
    output: toBase64(output),
    elapsedMs: 5,
    backend: 'cpu',
    ...(partner === undefined ? {} : { partner }),
  })
}

async function report(): Promise<PartnerReport['partners']> {
  const response = await t.owner('/partners')
  expect(response.status).toBe(200)
  return ((await response.json()) as PartnerReport).partners
}

describe('partner attribution', () => {
  it('credits verified work to the partner whose widget leased it, and leaves the app\'s own work out', async () => {
    await t.createMatmulJob({ m: 64, n: 64, k: 32, tile: 32, seed: 21 }) // 4 units of 2·32·32·32 flops
    const unitFlops = 2 * 32 * 32 * 32
    const reader = await Volunteer.create(t.url)
    const other = await Volunteer.create(t.url)
    const app = await Volunteer.create(t.url)

    // Two units through example-news: one result names the partner, the other relies on its lease.
    const [a, b] = await leaseThrough(reader, 'example-news', 2)
    expect((await submit(reader, a, 'example-news')).status).toBe(200)
    expect((await submit(reader, b)).status).toBe(200)
    // One through another partner, one in the app (no partner).
    const [c] = await leaseThrough(other, 'blog-2', 1)
    expect((await submit(other, c)).status).toBe(200)
    const [d] = await leaseThrough(app, undefined, 1)
    expect((await submit(app, d)).status).toBe(200)

    const partners = await waitFor(async () => {
      const rows = await report()
      return rows.reduce((s, r) => s + r.units, 0) === 3 && rows
    }, 'three partner units credited')
    expect(partners).toEqual([
      { partner: 'example-news', units: 2, creditFlops: 2 * unitFlops, devices: 1 },
      { partner: 'blog-2', units: 1, creditFlops: unitFlops, devices: 1 },
    ])
    // The devices' own credit is unchanged by attribution: the partner report is a view of the same ledger.
    const summary = await reader.json<{ creditFlops: number }>('/volunteer/summary')
    expect(summary.creditFlops).toBe(2 * unitFlops)
  })

  it('counts only verified work: a wrong result through a partner earns the partner nothing', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 22 })
    const before = await report()
    const cheat = await Volunteer.create(t.url)
    const [unit] = await leaseThrough(cheat, 'cheat-site', 1)
    const response = await cheat.request('POST', '/results', {
      resultId: crypto.randomUUID(),
      unitId: unit.unitId,
      output: toBase64(new Uint8Array(32 * 32 * 4)),
      elapsedMs: 5,
      backend: 'cpu',
      partner: 'cheat-site',
    })
    expect(response.status).toBe(200)
    await waitFor(async () => (await cheat.json<{ results: { invalid: number } }>('/volunteer/summary')).results.invalid === 1, 'the verdict')
    expect(await report()).toEqual(before)
  })

  it('refuses an invalid partner id with a 400 naming the field, before anything is leased or stored', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 23 })
    const volunteer = await Volunteer.create(t.url)
    const countsBefore = await t.hub.store.counts()
    for (const partner of ['Example-News', 'a'.repeat(65), '', 'news site', 'news/../x', 42]) {
      const response = await volunteer.request('POST', '/work/lease', { max: 1, backends: ['cpu'], partner })
      expect(response.status).toBe(400)
      const body = (await response.json()) as { code: string; message: string }
      expect(body.code).toBe('bad_request')
      expect(body.message).toMatch(/^partner: /)
    }
    const after = await t.hub.store.counts()
    expect(after.leases).toBe(countsBefore.leases)

    const [unit] = await leaseThrough(volunteer, 'good-partner', 1)
    const response = await volunteer.request('POST', '/results', {
      resultId: crypto.randomUUID(),
      unitId: unit.unitId,
      output: toBase64(await volunteer.compute(unit)),
      elapsedMs: 5,
      backend: 'cpu',
      partner: 'BAD PARTNER',
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { message: string }).message).toBe('partner: must be a partner id (1 to 64 of a-z 0-9 -)')
    expect((await t.hub.store.counts()).results).toBe(after.results)
  })

  it('reports per partner only to the job owner', async () => {
    const response = await fetch(`${t.url}/api/v1/partners`)
    expect(response.status).toBe(401)
    expect(((await response.json()) as { code: string }).code).toBe('unauthorized')
  })
})

describe('GET /work/current', () => {
  it('names the job new units come from, and null when there is no work', async () => {
    const empty = await startTestHub()
    try {
      const none = (await (await fetch(`${empty.url}/api/v1/work/current`)).json()) as CurrentWork
      expect(none).toEqual({ job: null })
      const job = await empty.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32 })
      const current = (await (await fetch(`${empty.url}/api/v1/work/current`)).json()) as CurrentWork
      expect(current).toEqual({ job: { id: job.id, workload: 'matmul', title: 'Dense matrix multiply', label: 'test' } })

      // Once the job is done, nothing is current any more.
      const volunteer = await Volunteer.create(empty.url)
      const [unit] = await volunteer.lease(16)
      expect((await volunteer.submit(unit.unitId, await volunteer.compute(unit))).status).toBe(200)
      await waitFor(
        async () => ((await (await fetch(`${empty.url}/api/v1/work/current`)).json()) as CurrentWork).job === null,
        'the job to be done',
      )
    } finally {
      await empty.close()
    }
  })
})
