/**
 * The primes workload through the hub: an owner creates a job over the API, a simulated volunteer leases its units,
 * counts them with the real WebAssembly kernel and is credited; the results' records say they were spot-checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreditHistory, JobProgress, VolunteerResults, VolunteerSummary } from '../../protocol/schemas.ts'
import { blockCount, bytesToPrimesOutput, instantiatePrimesWasm, primesCost, primesOutputToBytes, primesWasm, type PrimesSpec } from '../../workloads/primes/index.ts'
import { startTestHub, Volunteer, waitFor, type TestHub } from '../test-helpers.ts'

let t: TestHub

beforeAll(async () => {
  t = await startTestHub()
})

afterAll(async () => {
  await t.close()
})

async function createPrimesJob(params: unknown): Promise<Response> {
  return t.owner('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workload: 'primes', label: 'primes test', params }) })
}

async function count(spec: PrimesSpec): Promise<Uint8Array> {
  const out = new Uint32Array(1 + blockCount(spec))
  await primesWasm(await instantiatePrimesWasm(), spec, out, { onProgress: () => {}, isCancelled: () => false })
  return primesOutputToBytes(out)
}

let volunteers: { volunteer: Volunteer; specs: PrimesSpec[] }[] | undefined

describe('a primes job over HTTP', () => {
  it('is counted by two volunteers (a quorum of two), spot-checked, credited by its cost model, and yields π(hi) − π(lo)', async () => {
    const response = await createPrimesJob({ lo: 1_000_000, hi: 3_500_000, unitSpan: 1_000_000, block: 250_000 })
    expect(response.status).toBe(201)
    const job = (await response.json()) as JobProgress
    expect(job.units.total).toBe(3)

    // Primes results are replicated: each unit goes to two volunteers, and both counts must agree.
    for (const volunteer of [await Volunteer.create(t.url), await Volunteer.create(t.url)]) {
      const units = await volunteer.lease(16)
      expect(units).toHaveLength(3)
      const specs = units.map((u) => u.spec as PrimesSpec)
      expect(units[0]).toMatchObject({ jobId: job.id, workload: 'primes', version: 1, inputs: [], costFlops: primesCost(specs[0]) })
      for (const unit of units) expect((await volunteer.submit(unit.unitId, await count(unit.spec as PrimesSpec))).status).toBe(200)
      ;(volunteers ??= []).push({ volunteer, specs })
    }
    for (const { volunteer, specs } of volunteers!) {
      await waitFor(async () => {
        const s = await volunteer.json<VolunteerSummary>('/volunteer/summary')
        return s.results.valid === 3 && s.crediting === 0
      }, 'three valid, credited results')
      const credit = await volunteer.json<CreditHistory>('/volunteer/credit')
      expect(credit.entries.map((e) => e.creditFlops).sort()).toEqual(specs.map((s) => primesCost(s)).sort())
      const { results } = await volunteer.json<VolunteerResults>('/volunteer/results')
      expect(results).toHaveLength(3)
      for (const r of results) {
        expect(r).toMatchObject({ workload: 'primes', state: 'valid' })
        expect(r.reason).toMatch(/^2 independent volunteers returned the same answer \(quorum 2\)/)
      }
    }

    await waitFor(async () => ((await (await t.owner(`/jobs/${job.id}`)).json()) as JobProgress).state === 'done', 'the job to be done')
    const output = new Uint8Array(await (await t.owner(`/jobs/${job.id}/output`)).arrayBuffer())
    // π(3.5·10^6) − π(10^6) = 250150 − 78498.
    expect(new DataView(output.buffer).getBigUint64(0, true)).toBe(250150n - 78498n)
  })

  it('marks a unit with a wrong total invalid and refuses bad params naming the field', async () => {
    const response = await createPrimesJob({ lo: 0, hi: 100_000, unitSpan: 100_000, block: 10_000 })
    const job = (await response.json()) as JobProgress
    const cheat = await Volunteer.create(t.url)
    const [unit] = await cheat.lease(1)
    expect(unit.jobId).toBe(job.id)
    const words = bytesToPrimesOutput(await count(unit.spec as PrimesSpec))
    words[0] += 5
    expect((await cheat.submit(unit.unitId, primesOutputToBytes(words))).status).toBe(200)
    const { results } = await waitFor(async () => {
      const r = await cheat.json<VolunteerResults>('/volunteer/results')
      return r.results[0]?.state === 'invalid' && r
    }, 'the wrong result to be judged')
    expect(results[0].reason).toMatch(/total 9597 is not the sum of the block counts \(9592\)/)

    const bad = await createPrimesJob({ lo: 10, hi: 5 })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(await bad.json())).toMatch(/hi/)
    const big = await createPrimesJob({ lo: 0, hi: 2e12 })
    expect(big.status).toBe(400)
    expect(JSON.stringify(await big.json())).toMatch(/hi/)
  })
})
