/** How the outbox is packed into batch uploads: in order, at most MAX_BATCH_RESULTS, bodies within the hub's limit. */
import { describe, expect, it } from 'vitest'
import { MAX_BATCH_RESULTS, MAX_RESULT_BODY_BYTES } from '../../../protocol/index.ts'
import type { OutboxEntry } from '../storage/index.ts'
import { packBatches } from './uploader.ts'

const entry = (i: number, bytes: number): OutboxEntry => ({
  resultId: `r${i}`,
  unitId: `u${i}`,
  jobId: 'j',
  workload: 'matmul',
  output: new Uint8Array(bytes),
  elapsedMs: 1,
  backend: 'cpu',
  costFlops: 1,
  createdAt: i,
  attempts: 0,
})

describe('packBatches', () => {
  it('keeps the order and caps a batch at MAX_BATCH_RESULTS small results', () => {
    const entries = Array.from({ length: MAX_BATCH_RESULTS * 2 + 3 }, (_, i) => entry(i, 1024))
    const batches = packBatches(entries)
    expect(batches.map((b) => b.length)).toEqual([MAX_BATCH_RESULTS, MAX_BATCH_RESULTS, 3])
    expect(batches.flat().map((e) => e.resultId)).toEqual(entries.map((e) => e.resultId))
  })

  it('keeps each body within the result limit, however large the results', () => {
    const largest = Math.floor(((MAX_RESULT_BODY_BYTES - 64 * 1024) * 3) / 4)
    const entries = [entry(0, 1024), entry(1, largest), entry(2, largest / 2), entry(3, largest / 2), entry(4, 16)]
    const batches = packBatches(entries)
    for (const batch of batches) {
      const body = JSON.stringify({ results: batch.map((e) => ({ ...e, output: 'A'.repeat(Math.ceil((e.output as Uint8Array).byteLength / 3) * 4) })) })
      expect(body.length).toBeLessThanOrEqual(MAX_RESULT_BODY_BYTES)
    }
    expect(batches.map((b) => b.map((e) => e.resultId))).toEqual([
      ['r0', 'r1'],
      ['r2', 'r3', 'r4'],
    ])
    expect(packBatches([entry(0, largest), entry(1, largest)]).map((b) => b.length)).toEqual([1, 1])
  })

  it('packs nothing from an empty outbox', () => {
    expect(packBatches([])).toEqual([])
  })
})
