/**
 * End to end over HTTP: a real hub on 127.0.0.1:0, an owner with the token, and simulated volunteers with real device
 * keys that lease, fetch inputs, compute with the real kernel and submit, as the app does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToF32, sha256Hex, toBase64 } from '../../protocol/encoding.ts'
import type { BatchAck, CreditHistory, JobProgress, SubmitAck, VolunteerResults, VolunteerSummary } from '../../protocol/schemas.ts'
import { matmulRows, randomInputs } from '../../workloads/matmul/index.ts'
import { startTestHub, Volunteer, waitFor, type TestHub } from '../test-helpers.ts'

let t: TestHub

beforeAll(async () => {
  t = await startTestHub()
})

afterAll(async () => {
  await t.close()
})

describe('a volunteer computing a job over HTTP', () => {
  it('earns credit equal to 2·m·n·k for verified work, and the owner gets the correct product', async () => {
    const job = await t.createMatmulJob({ m: 64, n: 64, k: 64, tile: 32, seed: 11 })
    expect(job.total).toBe(4)
    const volunteer = await Volunteer.create(t.url)

    const units = await volunteer.lease(16)
    expect(units).toHaveLength(4)
    expect(units[0]).toMatchObject({ jobId: job.id, workload: 'matmul', version: 1, spec: { m: 32, n: 32, k: 64 }, costFlops: 2 * 32 * 32 * 64 })
    expect(units[0].deadline).toBeGreaterThan(Date.now())

    // Blobs are public, immutable and content-addressed.
    const blob = await fetch(`${t.url}/api/v1/blobs/${units[0].inputs[0]}`)
    expect(blob.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(blob.headers.get('etag')).toBe(`"${units[0].inputs[0]}"`)
    expect(await sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(units[0].inputs[0])
    const revalidated = await fetch(`${t.url}/api/v1/blobs/${units[0].inputs[0]}`, { headers: { 'if-none-match': `"${units[0].inputs[0]}"` } })
    expect(revalidated.status).toBe(304)

    const bytesBefore = t.hub.metrics.blobBytesServed
    for (const unit of units) {
      const response = await volunteer.submit(unit.unitId, await volunteer.compute(unit))
      expect(response.status).toBe(200)
      expect(((await response.json()) as SubmitAck)).toMatchObject({ state: 'returned', duplicate: false })
    }
    expect(t.hub.metrics.blobBytesServed).toBeGreaterThan(bytesBefore)

    const summary = await waitFor(async () => {
      const s = await volunteer.json<VolunteerSummary>('/volunteer/summary')
      return s.results.valid === 4 && s.crediting === 0 && s
    }, 'four valid, credited results')
    expect(summary).toEqual({
      deviceId: volunteer.deviceId,
      results: { returned: 0, valid: 4, invalid: 0 },
      creditFlops: 2 * 64 * 64 * 64,
      crediting: 0,
      bandwidth: { servedBytes: 0, creditFlops: 0 },
    })

    const credit = await volunteer.json<CreditHistory>('/volunteer/credit')
    expect(credit.entries).toHaveLength(4)
    expect(credit.entries.every((e) => e.creditFlops === 2 * 32 * 32 * 64 && e.kind === 'compute')).toBe(true)

    const progress = await waitFor(async () => {
      const p = (await (await t.owner(`/jobs/${job.id}`)).json()) as JobProgress
      return p.state === 'done' && p
    }, 'the job to be done')
    expect(progress.units).toEqual({ total: 4, unsent: 0, leased: 0, done: 4, error: 0 })

    const output = await t.owner(`/jobs/${job.id}/output`)
    expect(output.status).toBe(200)
    expect(output.headers.get('content-type')).toBe('application/octet-stream')
    const c = bytesToF32(new Uint8Array(await output.arrayBuffer()))
    const { a, b } = randomInputs({ m: 64, n: 64, k: 64 }, 11)
    const expected = new Float32Array(64 * 64)
    matmulRows(a, b, expected, 64, 64, 0, 64)
    expect(c).toHaveLength(64 * 64)
    for (let i = 0; i < c.length; i++) expect(c[i]).toBeCloseTo(expected[i], 4)

    const list = (await (await t.owner('/jobs')).json()) as { jobs: JobProgress[] }
    expect(list.jobs.map((j) => j.id)).toContain(job.id)
  })

  it('marks a wrong output invalid with a reason, credits nothing and re-issues the unit to someone else', async () => {
    const job = await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 21 })
    const cheat = await Volunteer.create(t.url)
    const [unit] = await cheat.lease(1)
    expect(unit.jobId).toBe(job.id)
    const output = await cheat.compute(unit)
    bytesToF32(output)[7] += 1
    expect((await cheat.submit(unit.unitId, output)).status).toBe(200)

    const { results } = await waitFor(async () => {
      const r = await cheat.json<VolunteerResults>('/volunteer/results')
      return r.results[0]?.state === 'invalid' && r
    }, 'the wrong result to be judged')
    expect(results[0]).toMatchObject({ unitId: unit.unitId, jobId: job.id, workload: 'matmul', state: 'invalid', creditFlops: 0 })
    expect(results[0].reason).toMatch(/row 0 of the product is wrong/)
    expect((await cheat.json<VolunteerSummary>('/volunteer/summary')).creditFlops).toBe(0)

    // The cheat never gets that unit again; an honest volunteer does.
    expect(await cheat.lease(16)).toEqual([])
    const honest = await Volunteer.create(t.url)
    const [again] = await honest.lease(1)
    expect(again.unitId).toBe(unit.unitId)
  })

  it('reports verified results still awaiting their ledger row as crediting, so the page knows to look again', async () => {
    const manual = await startTestHub({ runLoops: false })
    try {
      // A stopped loop ignores wakes, so the credit pass runs only when the test asks for it.
      await manual.hub.loops.credit.stop()
      await manual.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 41 })
      const volunteer = await Volunteer.create(manual.url)
      const [unit] = await volunteer.lease(1)
      expect((await volunteer.submit(unit.unitId, await volunteer.compute(unit))).status).toBe(200)
      await manual.hub.loops.validator.runOnce()
      const before = await volunteer.json<VolunteerSummary>('/volunteer/summary')
      expect(before).toMatchObject({ results: { returned: 0, valid: 1, invalid: 0 }, creditFlops: 0, crediting: 1 })
      await manual.hub.loops.credit.runOnce()
      const after = await volunteer.json<VolunteerSummary>('/volunteer/summary')
      expect(after).toMatchObject({ results: { valid: 1 }, creditFlops: 2 * 32 * 32 * 32, crediting: 0 })
    } finally {
      await manual.close()
    }
  })

  it('acknowledges a re-sent result as a duplicate and credits it only once', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 31 })
    const volunteer = await Volunteer.create(t.url)
    const [unit] = await volunteer.lease(1)
    const output = await volunteer.compute(unit)
    const resultId = crypto.randomUUID()
    const first = (await (await volunteer.submit(unit.unitId, output, resultId)).json()) as SubmitAck
    expect(first).toEqual({ resultId, state: 'returned', duplicate: false })

    await waitFor(async () => (await volunteer.json<VolunteerSummary>('/volunteer/summary')).creditFlops > 0, 'credit')
    const again = await volunteer.submit(unit.unitId, output, resultId)
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ resultId, state: 'valid', duplicate: true })

    // A second result id for the same unit from the same device is refused, not credited twice.
    const other = await volunteer.submit(unit.unitId, output)
    expect(other.status).toBe(409)
    await t.hub.loops.credit.runOnce()
    const summary = await volunteer.json<VolunteerSummary>('/volunteer/summary')
    expect(summary.results.valid).toBe(1)
    expect(summary.creditFlops).toBe(2 * 32 * 32 * 32)

    // The same result id for another device's submission is a conflict.
    const thief = await Volunteer.create(t.url)
    const stolen = await thief.submit(unit.unitId, output, resultId)
    expect(stolen.status).toBe(409)
    expect(await stolen.json()).toMatchObject({ ok: false, code: 'conflict' })
  })

  it('stores a batch of results in one request, answering each: stored, duplicate or refused with its reason', async () => {
    const job = await t.createMatmulJob({ m: 128, n: 32, k: 32, tile: 32, seed: 61 })
    const volunteer = await Volunteer.create(t.url)
    const units = await volunteer.lease(3)
    expect(units).toHaveLength(3)
    const outputs = await Promise.all(units.map((u) => volunteer.compute(u)))
    const item = (i: number, resultId = crypto.randomUUID()) => ({ resultId, unitId: units[i].unitId, output: toBase64(outputs[i]), elapsedMs: 5, backend: 'cpu' })
    const first = item(0)
    const sent = await volunteer.request('POST', '/results/batch', { results: [first] })
    expect(await sent.json()).toEqual({ results: [{ ok: true, resultId: first.resultId, state: 'returned', duplicate: false }] })

    // A re-sent result, two new ones, one for a unit leased to someone else and one of the wrong size.
    const other = await Volunteer.create(t.url)
    const [foreign] = await other.lease(1)
    const wrongSize = { ...item(2), output: toBase64(new Uint8Array(12)) }
    const batch = [first, item(1), { ...item(0), unitId: foreign.unitId }, wrongSize]
    const response = await volunteer.request('POST', '/results/batch', { results: batch })
    expect(response.status).toBe(200)
    const answers = ((await response.json()) as BatchAck).results
    expect(answers[0]).toEqual({ ok: true, resultId: first.resultId, state: expect.any(String), duplicate: true })
    expect(answers[1]).toEqual({ ok: true, resultId: batch[1].resultId, state: 'returned', duplicate: false })
    expect(answers[2]).toEqual({ ok: false, resultId: batch[2].resultId, code: 'forbidden', message: `Unit ${foreign.unitId} was not leased to this device.` })
    expect(answers[3]).toMatchObject({ ok: false, resultId: wrongSize.resultId, code: 'bad_request', message: expect.stringContaining('needs exactly 4096 bytes') })

    // A malformed batch is refused as a whole and stores nothing.
    const third = item(2)
    for (const bad of [{ results: [] }, { results: [third, third] }, { results: [third, { ...item(2), output: 7 }] }]) {
      const refused = await volunteer.request('POST', '/results/batch', bad)
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { message: string }).message).toMatch(/results/)
    }
    await t.hub.loops.validator.runOnce()
    await t.hub.loops.credit.runOnce()
    const summary = await volunteer.json<VolunteerSummary>('/volunteer/summary')
    expect(summary.results).toEqual({ returned: 0, valid: 2, invalid: 0 })
    expect(summary.creditFlops).toBe(2 * 2 * 32 * 32 * 32)
    const progress = (await (await t.owner(`/jobs/${job.id}`)).json()) as JobProgress
    expect(progress.units.done).toBe(2)
  })

  it('refuses a result for a unit that was not leased to the device', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 41 })
    const leaser = await Volunteer.create(t.url)
    const [unit] = await leaser.lease(1)
    const other = await Volunteer.create(t.url)
    const response = await other.submit(unit.unitId, await leaser.compute(unit))
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({ ok: false, code: 'forbidden', message: `Unit ${unit.unitId} was not leased to this device.` })
  })

  it('says how many units remain when the output is asked for too early', async () => {
    const job = await t.createMatmulJob({ m: 64, n: 32, k: 16, tile: 32, seed: 51 })
    const response = await t.owner(`/jobs/${job.id}/output`)
    expect(response.status).toBe(409)
    expect(await response.json()).toMatchObject({ code: 'conflict', message: `Job ${job.id} is not done: 2 of 2 units remain.` })
    expect((await t.owner('/jobs/job_nope')).status).toBe(404)
  })

  it('answers an empty lease when there is no work', async () => {
    // Drain what earlier tests left, then ask again.
    const volunteer = await Volunteer.create(t.url)
    while ((await volunteer.lease(16)).length > 0);
    expect(await volunteer.lease(16)).toEqual([])
  })

  it('creates jobs from uploaded blobs', async () => {
    const { a, b } = randomInputs({ m: 16, n: 16, k: 8 }, 99)
    const upload = async (values: Float32Array) => {
      const response = await t.owner('/blobs', {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(values.buffer as ArrayBuffer),
      })
      expect(response.status).toBe(200)
      return (await response.json()) as { hash: string; size: number }
    }
    const ha = await upload(a)
    const hb = await upload(b)
    expect(ha.size).toBe(16 * 8 * 4)
    expect(ha.hash).toBe(await sha256Hex(new Uint8Array(a.buffer)))

    const created = await t.owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'matmul', params: { m: 16, n: 16, k: 8, tile: 16, inputs: { kind: 'blobs', a: ha.hash, b: hb.hash } } }),
    })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ workload: 'matmul', state: 'open', units: { total: 1, unsent: 1 } })

    const mismatched = await t.owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'matmul', params: { m: 16, n: 16, k: 9, tile: 16, inputs: { kind: 'blobs', a: ha.hash, b: hb.hash } } }),
    })
    expect(mismatched.status).toBe(400)
    expect(((await mismatched.json()) as { message: string }).message).toMatch(/^params\.inputs\.a: blob holds 512 bytes/)
  })
})

describe('demo jobs', () => {
  it('keeps one demo job open and seeds the next one with a new seed when it completes', async () => {
    const demo = await startTestHub({ demo: true, demoParams: { m: 16, n: 16, k: 16, tile: 16, inputs: { kind: 'random', seed: 5 } } })
    try {
      const first = ((await (await demo.owner('/jobs')).json()) as { jobs: JobProgress[] }).jobs
      expect(first).toHaveLength(1)
      expect(first[0].params).toMatchObject({ inputs: { kind: 'random', seed: 5 } })

      const volunteer = await Volunteer.create(demo.url)
      const [unit] = await volunteer.lease(1)
      await volunteer.submit(unit.unitId, await volunteer.compute(unit))

      const jobs = await waitFor(async () => {
        const list = ((await (await demo.owner('/jobs')).json()) as { jobs: JobProgress[] }).jobs
        return list.length === 2 && list
      }, 'a second demo job')
      expect(jobs[1]).toMatchObject({ id: first[0].id, state: 'done' })
      expect(jobs[0]).toMatchObject({ state: 'open', params: { inputs: { kind: 'random', seed: 7 } } })
    } finally {
      await demo.close()
    }
  })
})
