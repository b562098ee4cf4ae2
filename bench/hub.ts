/**
 * The hub's end-to-end rate: N simulated volunteers on loopback (each with its own device key, signing every request
 * like the app does) lease tiny matmul units, fetch their inputs, compute them with the JS kernel, and submit; the hub
 * commits each result before acknowledging it, verifies it with Freivalds' check and credits it. The rate counts
 * units verified and credited per second of wall time; submit latency is measured per request.
 */
import { generateDeviceKey } from '../protocol/index.ts'
import { HubClient } from '../src/lib/hub/client.ts'
import { bytesToF32, f32ToBytes } from '../protocol/encoding.ts'
import { matmulRows } from '../workloads/matmul/kernel-cpu.ts'
import { startHub } from '../e2e/start-hub.ts'
import { quantile, row, type BenchRow } from './stats.ts'

export interface HubBenchOptions {
  volunteers: number
  /** Units in the job (the run ends when all are credited). */
  units?: number
}

export async function benchHub({ volunteers, units = 4096 }: HubBenchOptions): Promise<BenchRow[]> {
  const tile = 16
  const side = Math.sqrt(units) * tile
  // Rate limits off: all simulated volunteers share one loopback network, and this measures the hub's throughput.
  const hub = await startHub({}, undefined, { MESHWORK_DEMO: 'off', MESHWORK_RATE_NETWORK: '0', MESHWORK_RATE_DEVICE: '0' })
  try {
    const created = await hub.owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'matmul', label: 'bench', params: { m: side, n: side, k: tile, tile, inputs: { kind: 'random', seed: 3 } } }),
    })
    if (!created.ok) throw new Error(`job creation failed: ${await created.text()}`)
    const job = (await created.json()) as { id: string; units: { total: number } }

    const submitMs: number[] = []
    const leaseMs: number[] = []
    let submitted = 0
    const started = performance.now()
    const volunteer = async () => {
      const client = new HubClient(await generateDeviceKey(), { baseUrl: hub.url })
      const blobs = new Map<string, Promise<Uint8Array>>()
      for (;;) {
        const t0 = performance.now()
        const lease = await client.lease(4, ['cpu'])
        leaseMs.push(performance.now() - t0)
        if (!lease.units.length) return
        await Promise.all(
          lease.units.map(async (unit) => {
            const [a, b] = await Promise.all(
              unit.inputs.map((h) => {
                if (!blobs.has(h)) blobs.set(h, client.blob(h))
                return blobs.get(h)!
              }),
            )
            const spec = unit.spec as { m: number; n: number; k: number }
            const c = new Float32Array(spec.m * spec.n)
            matmulRows(bytesToF32(a), bytesToF32(b), c, spec.n, spec.k, 0, spec.m)
            const t1 = performance.now()
            await client.submit({ resultId: crypto.randomUUID(), unitId: unit.unitId, output: f32ToBytes(c), elapsedMs: 0, backend: 'cpu' })
            submitMs.push(performance.now() - t1)
            submitted++
          }),
        )
      }
    }
    await Promise.all(Array.from({ length: volunteers }, volunteer))
    // Wait for the validator and credit loops to finish the last results.
    for (;;) {
      const progress = (await (await hub.owner(`/jobs/${job.id}`)).json()) as { state: string; units: { done: number } }
      if (progress.units.done === job.units.total) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const seconds = (performance.now() - started) / 1000
    const rate = job.units.total / seconds
    console.log(`hub: ${job.units.total} units (${submitted} submitted) by ${volunteers} volunteers in ${seconds.toFixed(2)} s`)
    return [
      row(`hub end-to-end units/s (${volunteers} volunteers, SQLite, durable acks)`, rate, 'units/s'),
      row('hub lease latency p50', quantile(leaseMs, 0.5), 'ms'),
      row('hub lease latency p99', quantile(leaseMs, 0.99), 'ms'),
      row('hub submit latency p50', quantile(submitMs, 0.5), 'ms'),
      row('hub submit latency p99', quantile(submitMs, 0.99), 'ms'),
    ]
  } finally {
    await hub.stop()
  }
}
