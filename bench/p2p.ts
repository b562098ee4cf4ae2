/**
 * The peer network, measured against the real hub (child process, its libp2p relay and gossipsub included) and headless
 * Chromium on loopback:
 *
 * 1. Hub egress per unit for a job whose units share input blocks, with 1, 2, 4 and 8 volunteers (browser contexts
 *    running the built app), peers on and off side by side.
 * 2. Bulk throughput of a libp2p WebRTC stream between two PeerNodes (bench/p2p-page.ts) against a bare
 *    RTCDataChannel between the same two pages.
 * 3. Time from PeerNode.start() to the first direct WebRTC connection to a peer announcing the same job.
 *
 * No libp2p runs in this Node process (the hub is a child process), so no Promise.withResolvers polyfill is needed.
 */
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'vite'
import type { P2PConfig } from '../protocol/p2p.ts'
import { startHub, type Hub } from '../e2e/start-hub.ts'
import type { P2PBenchApi } from './p2p-page.ts'
import { quantile, row, type BenchRow } from './stats.ts'

const MiB = 1024 * 1024
const CHROMIUM_ARGS = ['--disable-quic', '--allow-loopback-in-peer-connection']

export interface P2PBenchOptions {
  /** Volunteer counts for the egress runs. @default [1, 2, 4, 8] */
  volunteers?: number[]
  /** Bytes per bulk-transfer run. @default 64 MiB */
  transferBytes?: number
  /** Runs per bulk-transfer measurement (median). @default 3 */
  transferRuns?: number
  /** Joins timed for part 3 (median). @default 7 */
  joinRuns?: number
}

/** Runs all three measurements against one hub; returns their rows. */
export async function benchP2P(options: P2PBenchOptions = {}): Promise<BenchRow[]> {
  ensureBuilt()
  const hub = await startHub({}, undefined, { MESHWORK_DEMO: 'off' })
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  try {
    const rows = await benchLink(browser, hub, options)
    rows.push(...(await benchEgress(browser, hub, options.volunteers ?? [1, 2, 4, 8])))
    return rows
  } finally {
    await browser.close()
    await hub.stop()
  }
}

/** The egress runs serve the built app from the hub: build it when dist/ is missing. */
function ensureBuilt(): void {
  if (existsSync('dist/index.html')) return
  console.log('p2p: dist/ is missing; running npm run build')
  execFileSync('npm', ['run', 'build'], { stdio: 'inherit' })
}

async function p2pConfig(hub: Hub): Promise<P2PConfig> {
  // Fetched here and handed to the pages: the hub sends no CORS headers and the bench pages come from Vite's origin.
  const config = (await (await fetch(`${hub.url}/api/v1/p2p`)).json()) as P2PConfig
  if (!config.enabled || !config.multiaddrs.length) throw new Error(`the hub runs no peer network: ${JSON.stringify(config)}`)
  return config
}

/** Calls `p2pBench[method](...args)` in the page. */
function call<K extends keyof P2PBenchApi>(page: Page, method: K, ...args: Parameters<P2PBenchApi[K]>): Promise<Awaited<ReturnType<P2PBenchApi[K]>>> {
  return page.evaluate(
    ([m, a]) => (globalThis as unknown as { p2pBench: Record<string, (...x: unknown[]) => unknown> }).p2pBench[m](...a),
    [method, args] as [string, unknown[]],
  ) as Promise<Awaited<ReturnType<P2PBenchApi[K]>>>
}

const median = (values: number[]) => quantile(values, 0.5)

/** Parts 2 and 3: two bench pages served by Vite, each with its own browser context. */
async function benchLink(browser: Browser, hub: Hub, options: P2PBenchOptions): Promise<BenchRow[]> {
  const total = options.transferBytes ?? 64 * MiB
  const runs = options.transferRuns ?? 3
  const joinRuns = options.joinRuns ?? 7
  const chunk = 64 * 1024
  const config = await p2pConfig(hub)
  const server = await createServer({
    logLevel: 'error',
    server: { port: 0, host: '127.0.0.1' },
    // Crawl the bench page up front so Vite does not re-optimise libp2p (and reload the page) on first load.
    optimizeDeps: { entries: ['bench/p2p.html'] },
  })
  await server.listen()
  const address = server.httpServer?.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const contexts: BrowserContext[] = []
  try {
    const pages: Page[] = []
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
      contexts.push(context)
      const page = await context.newPage()
      await page.goto(`http://127.0.0.1:${port}/bench/p2p.html`)
      await page.waitForFunction(() => 'p2pBench' in globalThis, undefined, { timeout: 60_000 })
      pages.push(page)
    }
    const [a, b] = pages
    const job = 'bench-join'
    const peerA = await call(a, 'start', config, [job])
    await call(a, 'circuitAddress')

    // 3. Joins: a fresh node (new key) in page B each time, found through announcements on the same job.
    const joins: Awaited<ReturnType<P2PBenchApi['joinTime']>>[] = []
    for (let i = 0; i < joinRuns; i++) {
      joins.push(await call(b, 'joinTime', config, peerA, [job]))
      // A answers a newcomer eagerly at most once a second.
      await new Promise((r) => setTimeout(r, 1100))
    }
    console.log('p2p joins (ms: started/reserved/heard peer/direct, who dialled):', joins.map((j) => `${j.startedMs}/${j.reservedMs}/${j.heardMs}/${j.directMs} ${j.direction}`).join('  '))

    // 2. Bulk: B (announcing no job, so nobody dials on its own) dials A's WebRTC circuit address.
    await call(b, 'start', config, [])
    const { addr, all } = await call(a, 'circuitAddress')
    console.log(`p2p: page A listens on ${all.join(' ')}`)
    const dialled = await call(b, 'dial', addr)
    if (dialled.errors.length) console.log(`p2p: the direct dial took ${dialled.attempts} attempts (${dialled.errors.join('; ')})`)
    if (dialled.limited || dialled.multiplexer !== '/webrtc') throw new Error(`dial of ${addr} gave a ${dialled.multiplexer} connection${dialled.limited ? ' (limited)' : ''}, not direct WebRTC`)
    const offer = await call(b, 'rawOffer')
    const answer = await call(a, 'rawAnswer', offer)
    await call(b, 'rawAccept', answer)

    const libp2pMs: number[] = []
    const rawMs: number[] = []
    // A warm-up of each (not counted), then libp2p and raw alternate so both see the same machine load.
    for (let r = -1; r < runs; r++) {
      const bytes = r < 0 ? 8 * MiB : total
      await call(a, 'setExpected', bytes)
      const l = await call(b, 'sendLibp2p', peerA, bytes, chunk)
      const w = await call(b, 'sendRaw', bytes, chunk, 4 * MiB, 1 * MiB)
      if (r >= 0) {
        libp2pMs.push(l)
        rawMs.push(w)
      }
    }
    const mbps = (ms: number) => total / 1e6 / (ms / 1000)
    console.log(`p2p bulk MB/s: libp2p ${libp2pMs.map((ms) => mbps(ms).toFixed(1)).join(' ')}; raw ${rawMs.map((ms) => mbps(ms).toFixed(1)).join(' ')}`)
    const label = `${total / MiB} MiB in ${chunk / 1024} KiB writes, loopback`
    return [
      row(`p2p bulk throughput, libp2p WebRTC stream (${label})`, mbps(median(libp2pMs)), 'MB/s', {
        name: 'raw RTCDataChannel, ordered, reliable, 4 MiB high / 1 MiB low water',
        value: mbps(median(rawMs)),
      }),
      row('p2p start to first direct WebRTC connection (via announcements)', median(joins.map((j) => j.directMs)), 'ms'),
      row('p2p start to relay reservation', median(joins.map((j) => j.reservedMs).filter(Number.isFinite)), 'ms'),
      row('p2p start to first announcement heard from the peer', median(joins.map((j) => j.heardMs).filter(Number.isFinite)), 'ms'),
    ]
  } finally {
    for (const context of contexts) await context.close()
    await server.close()
  }
}

/**
 * The shared-input job of part 1: a 16 x 16 grid of 64 x 64 output tiles with k = 4096, so 256 units, each reading
 * one 1 MiB row block of A and one 1 MiB column block of B; 32 distinct blocks (32 MiB) in all, each read by 16 units.
 * Without peers every volunteer downloads most blocks itself; with peers each should leave the hub about once.
 */
const EGRESS_JOB = { m: 1024, n: 1024, k: 4096, tile: 64 }
const EGRESS_UNITS = (EGRESS_JOB.m / EGRESS_JOB.tile) * (EGRESS_JOB.n / EGRESS_JOB.tile)
/** Every block leaving the hub exactly once: the floor for any volunteer count. */
const EGRESS_FLOOR_MIB = ((EGRESS_JOB.m / EGRESS_JOB.tile + EGRESS_JOB.n / EGRESS_JOB.tile) * EGRESS_JOB.tile * EGRESS_JOB.k * 4) / MiB / EGRESS_UNITS
/** Between two volunteers' Contribute clicks. */
const STAGGER_MS = 400

interface EgressRun {
  bytes: number
  seconds: number
}

/** Part 1: per volunteer count, a run with peers off and one with peers on, side by side. */
async function benchEgress(browser: Browser, hub: Hub, counts: number[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  let seed = 100
  console.log(`p2p egress: ${EGRESS_UNITS} units; floor ${EGRESS_FLOOR_MIB.toFixed(3)} MiB/unit (each input block leaves the hub once)`)
  for (const n of counts) {
    const off = await egressRun(browser, hub, n, false, seed++)
    const on = await egressRun(browser, hub, n, true, seed++)
    const perUnit = (run: EgressRun) => run.bytes / EGRESS_UNITS / MiB
    console.log(
      `p2p egress, ${n} volunteer(s): peers off ${perUnit(off).toFixed(3)} MiB/unit (${off.seconds.toFixed(1)} s), ` +
        `peers on ${perUnit(on).toFixed(3)} MiB/unit (${on.seconds.toFixed(1)} s)`,
    )
    rows.push(
      row(`p2p hub egress per unit, shared 1 MiB input blocks, ${n} volunteer${n > 1 ? 's' : ''}, peers on`, perUnit(on), 'MiB/unit', {
        name: 'peers off (each volunteer fetches each block it needs from the hub once)',
        value: perUnit(off),
      }),
    )
  }
  return rows
}

/** What one volunteer's Network view says: bytes received from peers, direct peers, whether it dropped one. */
async function peerSummary(page: Page): Promise<{ received: number; direct: number; dropped: boolean; state: string }> {
  await page.getByRole('link', { name: 'Network' }).click()
  return {
    received: Number(await page.getByTestId('bytes-received').getAttribute('data-bytes')),
    direct: Number(await page.getByTestId('peers-direct').textContent()),
    dropped: (await page.getByTestId('dropped-peers').count()) > 0,
    state: (await page.getByTestId('peer-state').getAttribute('data-state')) ?? '',
  }
}

async function blobBytesServed(hub: Hub): Promise<number> {
  const stats = (await (await hub.owner('/stats')).json()) as { blobs: { bytesServed: number } }
  return stats.blobs.bytesServed
}

/**
 * One run: `n` volunteers (fresh browser contexts: own device key, IndexedDB and HTTP cache) running the built app,
 * a new job with its own inputs, Contribute clicked on each in turn; returns the hub's blob bytes served for the job.
 */
async function egressRun(browser: Browser, hub: Hub, n: number, peers: boolean, seed: number): Promise<EgressRun> {
  const contexts: BrowserContext[] = []
  try {
    const pages: Page[] = []
    for (let i = 0; i < n; i++) {
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
      contexts.push(context)
      // One CPU worker each (up to eight browsers share two cores), no GPU probe.
      await context.addInitScript(
        (settings) => localStorage.setItem('meshwork.settings.v1', JSON.stringify(settings)),
        { workers: 1, backend: 'cpu', peers, cacheMB: 512 },
      )
      const page = await context.newPage()
      await page.goto(hub.url)
      await page.getByRole('link', { name: 'Contribute' }).click()
      pages.push(page)
    }
    const before = await blobBytesServed(hub)
    const created = await hub.owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'matmul', label: `bench p2p egress ${n}${peers ? ' peers' : ''}`, params: { ...EGRESS_JOB, inputs: { kind: 'random', seed } } }),
    })
    if (created.status !== 201) throw new Error(`job creation failed (${created.status}): ${await created.text()}`)
    const job = ((await created.json()) as { id: string }).id
    const started = performance.now()
    for (const page of pages) {
      await page.getByRole('button', { name: 'Contribute' }).click()
      await new Promise((r) => setTimeout(r, STAGGER_MS))
    }
    const deadline = Date.now() + 120_000
    for (;;) {
      const state = ((await (await hub.owner(`/jobs/${job}`)).json()) as { state: string }).state
      if (state === 'done') break
      if (Date.now() > deadline) throw new Error(`job ${job} (${n} volunteers, peers ${peers ? 'on' : 'off'}) is still ${state} after 120 s`)
      await new Promise((r) => setTimeout(r, 200))
    }
    const seconds = (performance.now() - started) / 1000
    const bytes = (await blobBytesServed(hub)) - before
    if (peers) {
      const views = await Promise.all(pages.map(peerSummary))
      const stats = ((await (await hub.owner('/stats')).json()) as { p2p: { announcements: unknown } }).p2p
      console.log(
        `p2p egress, ${n} volunteer(s), peers on: ${(views.reduce((t, v) => t + v.received, 0) / MiB).toFixed(0)} MiB from peers, ` +
          `${(bytes / MiB).toFixed(0)} MiB from the hub; direct peers per volunteer ${views.map((v) => v.direct).join(',')}; ` +
          `states ${[...new Set(views.map((v) => v.state))].join(',')}${views.some((v) => v.dropped) ? '; some peers dropped' : ''}; ` +
          `hub announcements so far ${JSON.stringify(stats.announcements)}`,
      )
    }
    return { bytes, seconds }
  } finally {
    for (const context of contexts) await context.close()
  }
}
