/**
 * WorkerPool.runAcross with the real compute runtime and kernels. Web Workers do not exist in Node, so each "worker"
 * here is the runtime exposed on one end of a MessageChannel (as comlink's own tests do): the same structured clone,
 * transfer and proxy path, on one thread. That parts really run in parallel is measured in Chromium by
 * `npm run bench kernel` (the "all cores" row).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { expose } from 'comlink'
import { computeRuntime } from '../../../workers/runtime.ts'
import { bytesToF32, f32ToBytes } from '../../../protocol/encoding.ts'
import { randomMatrix } from '../../../workloads/matmul/generate.ts'
import { matmulRowSplit } from '../../../workloads/matmul/split.ts'
import { verifyMatmul } from '../../../workloads/matmul/verify.ts'
import { WorkerPool } from './pool.ts'

const channels: MessageChannel[] = []

/** A MessageChannel standing in for a Web Worker running workers/compute.worker.ts. */
function channelWorker(): Worker {
  const channel = new MessageChannel()
  channels.push(channel)
  expose(computeRuntime, channel.port1 as unknown as Parameters<typeof expose>[1])
  return Object.assign(channel.port2, {
    terminate: () => {
      channel.port1.close()
      channel.port2.close()
    },
  }) as unknown as Worker
}

let pool: WorkerPool | undefined
afterEach(() => {
  pool?.terminate()
  for (const c of channels.splice(0)) {
    c.port1.close()
    c.port2.close()
  }
})

/** A matmul task, and its A and B (copies: runAcross moves the task's own buffers away). */
function matmulTask(taskId: string, spec: { m: number; n: number; k: number }) {
  const a = randomMatrix(spec.m, spec.k, 1)
  const b = randomMatrix(spec.k, spec.n, 2)
  return { a, b, task: { taskId, workload: 'matmul', spec, inputs: [f32ToBytes(a.slice()), f32ToBytes(b.slice())], backend: 'cpu' as const } }
}

describe('WorkerPool.runAcross', () => {
  it('splits one unit by rows over every worker and joins the same product one worker computes', async () => {
    pool = new WorkerPool(3, channelWorker)
    const spec = { m: 100, n: 40, k: 70 }
    const { a, b, task } = matmulTask('big', spec)
    const progress: number[] = []
    let starts = 0
    const split = await pool.runAcross(task, matmulRowSplit, { onStart: () => starts++, onProgress: (f) => progress.push(f) })
    expect(split).toMatchObject({ ok: true, backend: 'cpu' })
    if (!split.ok) return
    expect(verifyMatmul(spec, a, b, bytesToF32(split.output), Math.random)).toEqual({ ok: true })
    expect(starts).toBe(1)
    await expect.poll(() => progress.at(-1)).toBe(1)
    // The task's buffers were moved from part to part, not copied: the caller's are detached now.
    expect(task.inputs.map((input) => input.byteLength)).toEqual([0, 0])

    const whole = await pool.run({ ...task, inputs: [f32ToBytes(a), f32ToBytes(b)], taskId: 'whole' })
    expect(whole.ok && [...whole.output]).toEqual([...split.output])
  })

  it('gives every part but the last a copy where the parts run the JS kernel, which reads its inputs to the end', async () => {
    pool = new WorkerPool(2, channelWorker)
    const spec = { m: 30, n: 20, k: 10 }
    const { a, b, task } = matmulTask('js', spec)
    const outcome = await pool.runAcross({ ...task, cpuKernel: 'js' }, matmulRowSplit)
    expect(outcome).toMatchObject({ ok: true, kernel: 'js' })
    expect(outcome.ok && verifyMatmul(spec, a, b, bytesToF32(outcome.output), Math.random)).toEqual({ ok: true })
  })

  it('uses fewer parts than workers when the unit has fewer rows', async () => {
    pool = new WorkerPool(4, channelWorker)
    const spec = { m: 2, n: 3, k: 5 }
    const { a, b, task } = matmulTask('small', spec)
    const outcome = await pool.runAcross(task, matmulRowSplit)
    expect(outcome.ok && verifyMatmul(spec, a, b, bytesToF32(outcome.output), Math.random)).toEqual({ ok: true })
  })

  it('cancels every part when the task is cancelled', async () => {
    pool = new WorkerPool(2, channelWorker)
    const { task } = matmulTask('stop-me', { m: 256, n: 256, k: 4096 })
    let progressed = 0
    const outcome = await pool.runAcross(task, matmulRowSplit, {
      onProgress: () => {
        progressed++
        pool!.cancel('stop-me')
      },
    })
    expect(outcome).toMatchObject({ ok: false, code: 'cancelled' })
    // Stopped at the first slice boundary of each part, far from the end.
    expect(progressed).toBeLessThanOrEqual(4)
    // Both workers are free again.
    const after = matmulTask('after', { m: 8, n: 8, k: 8 })
    expect((await pool.runAcross(after.task, matmulRowSplit)).ok).toBe(true)
  })

  it('returns a part\'s failure as data, naming the problem', async () => {
    pool = new WorkerPool(2, channelWorker)
    const { task } = matmulTask('bad', { m: 10, n: 4, k: 6 })
    const outcome = await pool.runAcross({ ...task, spec: { m: 10, n: 4, k: 7 } }, matmulRowSplit)
    expect(outcome).toEqual({ ok: false, code: 'compute_failed', message: 'input B is 96 bytes, expected 112' })
  })
})
