/**
 * Shared by the hub's tests: a real hub on 127.0.0.1 port 0 with its own SQLite file in a temp dir, real Ed25519
 * device keys that sign requests exactly as the app does, and a volunteer that computes units with the real kernel.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { bytesToF32, f32ToBytes, toBase64 } from '../protocol/encoding.ts'
import { signReceipt, type BandwidthReceipt, type BandwidthReceiptBody, type ReceiptAck } from '../protocol/p2p.ts'
import { generateDeviceKey, signRequest, type DeviceKey } from '../protocol/sign-request.ts'
import type { LeasedUnit, LeaseResponse } from '../protocol/schemas.ts'
import { matmulRows } from '../workloads/matmul/kernel-cpu.ts'
import { createHub, type Hub, type HubOptions } from './hub.ts'

export const TEST_TOKEN = 'test-owner-token-0123456789abcdef'

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwork-hub-test-'))
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

export interface TestHub {
  hub: Hub
  url: string
  dataDir: string
  /** Calls the owner API with the test token. */
  owner(pathBelowApi: string, init?: RequestInit): Promise<Response>
  /** Creates a small random matmul job and returns its id and unit count. */
  createMatmulJob(params?: Partial<{ m: number; n: number; k: number; tile: number; seed: number }>): Promise<{ id: string; total: number }>
  close(): Promise<void>
}

/**
 * Starts a real hub listening on 127.0.0.1:0 with a temp DATA_DIR (or `dataDir`, kept on close, for restart tests).
 * Demo mode is off unless asked for; the peer network is on, on any free port.
 */
export async function startTestHub(options: Partial<HubOptions> = {}): Promise<TestHub> {
  const { dir, remove } = options.dataDir ? { dir: options.dataDir, remove: () => {} } : tempDir()
  const hub = await createHub({
    dataDir: dir,
    staticDir: path.join(dir, 'no-static'),
    port: 0,
    apiToken: TEST_TOKEN,
    demo: false,
    loopIntervalMs: 20,
    log: () => {},
    p2p: { port: 0 },
    // Tests of everything else send bursts from one loopback network; rate-limit.test.ts sets its own limits.
    rateLimits: { device: { perSecond: 0, burst: 0 }, network: { perSecond: 0, burst: 0 } },
    // Every simulated volunteer calls from loopback: replicas of a unit may go to them all. Tests of spot checks and
    // adaptive replication turn those on themselves.
    verification: { replicasSameNetwork: true, spotCheckFraction: 0, trustAfter: 0 },
    ...options,
  })
  await hub.listen()
  const url = hub.url!
  const owner = (p: string, init: RequestInit = {}) =>
    fetch(`${url}/api/v1${p}`, { ...init, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(init.headers ?? {}) } })
  return {
    hub,
    url,
    dataDir: dir,
    owner,
    async createMatmulJob({ m = 64, n = 64, k = 64, tile = 32, seed = 1 } = {}) {
      const response = await owner('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workload: 'matmul', label: 'test', params: { m, n, k, tile, inputs: { kind: 'random', seed } } }),
      })
      if (response.status !== 201) throw new Error(`job creation failed: ${response.status} ${await response.text()}`)
      const job = (await response.json()) as { id: string; units: { total: number } }
      return { id: job.id, total: job.units.total }
    },
    async close() {
      await hub.close()
      remove()
    },
  }
}

/** A simulated volunteer: a real device key and signed requests. */
export class Volunteer {
  /** Sent as X-Forwarded-For (a hub started with `trustProxy` takes it as the caller's address). */
  forwardedFor: string | undefined

  constructor(
    readonly url: string,
    readonly key: DeviceKey,
  ) {}

  /** A volunteer with a new device key. */
  static async create(url: string): Promise<Volunteer> {
    return new Volunteer(url, await generateDeviceKey())
  }

  get deviceId(): string {
    return this.key.deviceId
  }

  /** A signed request; `pathBelowApi` may carry a query. `time` overrides the signed timestamp. */
  async request(method: string, pathBelowApi: string, body?: unknown, time?: number): Promise<Response> {
    const fullPath = `/api/v1${pathBelowApi}`
    const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body))
    const headers: Record<string, string> = await signRequest(this.key, { method, path: fullPath, body: bytes, time })
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.forwardedFor) headers['x-forwarded-for'] = this.forwardedFor
    return fetch(`${this.url}${fullPath}`, { method, headers, body: body === undefined ? undefined : bytes })
  }

  /** Leases units and returns them (throws on a non-200). */
  async lease(max = 16): Promise<LeasedUnit[]> {
    const response = await this.request('POST', '/work/lease', { max, backends: ['cpu'] })
    if (response.status !== 200) throw new Error(`lease failed: ${response.status} ${await response.text()}`)
    return ((await response.json()) as LeaseResponse).units
  }

  /** Fetches a unit's inputs and computes its output with the real CPU kernel. */
  async compute(unit: LeasedUnit): Promise<Uint8Array> {
    const [a, b] = await Promise.all(unit.inputs.map(async (hash) => new Uint8Array(await (await fetch(`${this.url}/api/v1/blobs/${hash}`)).arrayBuffer())))
    const spec = unit.spec as { m: number; n: number; k: number }
    const c = new Float32Array(spec.m * spec.n)
    matmulRows(bytesToF32(a), bytesToF32(b), c, spec.n, spec.k, 0, spec.m)
    return f32ToBytes(c)
  }

  /** Submits an output for a unit. */
  submit(unitId: string, output: Uint8Array, resultId: string = crypto.randomUUID()): Promise<Response> {
    return this.request('POST', '/results', { resultId, unitId, output: toBase64(output), elapsedMs: 5, backend: 'cpu' })
  }

  /** Signs a bandwidth receipt as its receiver (this device); fields not given get fresh or neutral values. */
  receipt(fields: Pick<BandwidthReceiptBody, 'server' | 'blob' | 'bytes' | 'unitId'> & Partial<BandwidthReceiptBody>): Promise<BandwidthReceipt> {
    return signReceipt({ v: 1, receiptId: crypto.randomUUID(), receiver: this.deviceId, at: Date.now(), ...fields }, this.key.privateKey)
  }

  /** Submits receipts and returns the verdicts (throws on a non-200). */
  async submitReceipts(receipts: BandwidthReceipt[]): Promise<ReceiptAck> {
    const response = await this.request('POST', '/receipts', { receipts })
    if (response.status !== 200) throw new Error(`POST /receipts failed: ${response.status} ${await response.text()}`)
    return (await response.json()) as ReceiptAck
  }

  async json<T>(pathBelowApi: string): Promise<T> {
    const response = await this.request('GET', pathBelowApi)
    if (response.status !== 200) throw new Error(`GET ${pathBelowApi} failed: ${response.status} ${await response.text()}`)
    return (await response.json()) as T
  }
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
