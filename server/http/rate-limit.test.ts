/** Rate limits: token buckets per network and per device, 429 with Retry-After, and nothing else slowed down. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestHub, Volunteer, type TestHub } from '../test-helpers.ts'
import { RateLimiter } from './rate-limit.ts'

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the wait, and refills at the sustained rate', () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, 'this device')
    for (let i = 0; i < 3; i++) limiter.take('a', 1000)
    let refusal: unknown
    try {
      limiter.take('a', 1000)
    } catch (error) {
      refusal = error
    }
    expect(refusal).toMatchObject({ code: 'rate_limited', transient: true, retryAfterMs: 500 })
    expect(String((refusal as Error).message)).toMatch(/Too many requests from this device: at most 2 a second \(bursts of 3\)/)
    // Another key has its own bucket; half a second later one request fits again.
    limiter.take('b', 1000)
    limiter.take('a', 1500)
    expect(() => limiter.take('a', 1500)).toThrow(/Too many requests/)
  })

  it('is off at 0 a second, and forgets idle buckets', () => {
    const off = new RateLimiter({ perSecond: 0, burst: 0 }, 'x')
    for (let i = 0; i < 1000; i++) off.take('a', 0)
    const limiter = new RateLimiter({ perSecond: 10, burst: 10 }, 'x')
    limiter.take('a', 0)
    limiter.take('b', 70_000)
    expect(limiter.size).toBe(1)
  })
})

describe('rate limits on the hub', () => {
  let t: TestHub
  beforeAll(async () => {
    t = await startTestHub({ rateLimits: { device: { perSecond: 1, burst: 3 }, network: { perSecond: 1, burst: 12 } } })
  })
  afterAll(() => t.close())

  it('a device past its limit gets 429 with Retry-After and a clear message; another device does not', async () => {
    const busy = await Volunteer.create(t.url)
    const statuses: number[] = []
    let refused: Response | undefined
    for (let i = 0; i < 4; i++) {
      const response = await busy.request('GET', '/volunteer/summary')
      statuses.push(response.status)
      if (response.status === 429) refused = response
      else await response.arrayBuffer()
    }
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await refused!.json()).toMatchObject({ ok: false, code: 'rate_limited', message: expect.stringMatching(/this device: at most 1 a second/) })
    const other = await Volunteer.create(t.url)
    expect((await other.request('GET', '/volunteer/summary')).status).toBe(200)
  })

  it('a network past its limit gets 429 on public routes too; the job owner is not limited', async () => {
    let status = 200
    for (let i = 0; i < 20 && status !== 429; i++) {
      const response = await fetch(`${t.url}/api/v1/config`)
      status = response.status
      await response.arrayBuffer()
    }
    expect(status).toBe(429)
    expect((await t.owner('/stats')).status).toBe(200)
  })
})
