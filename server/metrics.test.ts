/** Prometheus metrics at /metrics: what a job owner's Prometheus scrapes after real volunteer traffic. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestHub, TEST_TOKEN, Volunteer, waitFor, type TestHub } from './test-helpers.ts'

let t: TestHub

beforeAll(async () => {
  t = await startTestHub({ rateLimits: { device: { perSecond: 1, burst: 1 }, network: { perSecond: 0, burst: 0 } } })
})
afterAll(() => t.close())

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('/metrics', () => {
  it('needs the owner token', async () => {
    const response = await fetch(`${t.url}/metrics`)
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/job owner's token/) })
  })

  it('counts units by state, leases, results, verdicts, credit, refusals and latencies', async () => {
    const job = await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 16 })
    const honest = await Volunteer.create(t.url)
    const [first, second] = await honest.lease(2)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect((await honest.submit(first.unitId, await honest.compute(first))).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    // A wrong product: the right size, every element off.
    expect((await honest.submit(second.unitId, new Uint8Array((await honest.compute(second)).length).fill(7))).status).toBe(200)
    // Past the device's limit of one request a second: refused.
    expect((await honest.request('GET', '/volunteer/summary')).status).toBe(429)

    const text = await waitFor(async () => {
      const body = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text()
      return sample(body, 'meshwork_credit_granted_flops_total{kind="compute"}') ? body : undefined
    }, 'credit in the metrics')
    expect(sample(text, 'meshwork_units{state="done"}')).toBe(1)
    expect(sample(text, 'meshwork_units{state="unsent"}')).toBe(job.total - 1)
    expect(sample(text, 'meshwork_units_leased_total')).toBe(2)
    expect(sample(text, 'meshwork_results_received_total{outcome="accepted"}')).toBe(2)
    expect(sample(text, 'meshwork_verifications_total{verdict="valid"}')).toBe(1)
    expect(sample(text, 'meshwork_verifications_total{verdict="invalid"}')).toBe(1)
    expect(sample(text, 'meshwork_credit_granted_flops_total{kind="compute"}')).toBe(2 * 16 * 16 * 32)
    expect(sample(text, 'meshwork_rate_limited_total{limit="device"}')).toBe(1)
    expect(sample(text, 'meshwork_http_request_seconds_count{method="POST",route="/api/v1/work/lease",status="200"}')).toBe(1)
    expect(sample(text, 'meshwork_store_operation_seconds_count{operation="insertResults",outcome="ok"}')).toBeGreaterThanOrEqual(1)
    expect(text).toContain('# TYPE meshwork_process_resident_memory_bytes gauge')
  })
})
