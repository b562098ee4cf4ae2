/**
 * Group commit: results submitted at the same time are written together, and every one of them is acknowledged only
 * after its transaction committed (so each acknowledged result is readable from the store at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SubmitAck } from '../protocol/schemas.ts'
import { startTestHub, Volunteer, type TestHub } from './test-helpers.ts'

let t: TestHub

beforeAll(async () => {
  t = await startTestHub({ runLoops: false })
})

afterAll(async () => {
  await t.close()
})

describe('result ingest', () => {
  it('acknowledges 40 concurrent submissions, each durable, in fewer transactions than submissions', async () => {
    // 40 units of 8 x 8 x 8 from 40 volunteers, each leasing one.
    await t.createMatmulJob({ m: 40, n: 64, k: 8, tile: 8, seed: 3 })
    const volunteers = await Promise.all(Array.from({ length: 40 }, () => Volunteer.create(t.url)))
    const work = await Promise.all(
      volunteers.map(async (v) => {
        const [unit] = await v.lease(1)
        return { v, unit, output: await v.compute(unit), resultId: crypto.randomUUID() }
      }),
    )
    expect(new Set(work.map((w) => w.unit.unitId)).size).toBe(40)

    const before = { ...t.hub.ingest.stats }
    const acks = await Promise.all(
      work.map(async ({ v, unit, output, resultId }) => {
        const response = await v.submit(unit.unitId, output, resultId)
        expect(response.status).toBe(200)
        const ack = (await response.json()) as SubmitAck
        // Acknowledged means committed: the result is already in the store (the validator may have judged it already).
        const { returned, valid, invalid } = await t.hub.store.deviceSummary(v.deviceId)
        expect(returned + valid + invalid).toBe(1)
        return ack
      }),
    )
    expect(acks.every((a) => a.state === 'returned' && !a.duplicate)).toBe(true)
    const submissions = t.hub.ingest.stats.submissions - before.submissions
    const transactions = t.hub.ingest.stats.transactions - before.transactions
    expect(submissions).toBe(40)
    expect(transactions).toBeLessThan(submissions)
    expect((await t.hub.store.counts()).results).toBe(40)
  })
})
