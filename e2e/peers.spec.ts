/**
 * Peers over WebRTC, end to end: a real hub (its libp2p relay and gossipsub included) and three browser contexts,
 * each a separate volunteer with its own device key and IndexedDB. Chromium gathers loopback ICE candidates only with
 * --allow-loopback-in-peer-connection (playwright.config.ts) and camera/microphone permission (granted below).
 */
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { BANDWIDTH_FLOPS_PER_BYTE } from '../protocol/p2p.ts'
import { count, expect, setPressure, startHub, test, type Hub } from './hub.ts'

/** 9 units of 256 x 256 x 8192 (1.07 GFLOP each); every unit reads the same 8 MiB column block B₀ of B. */
const SHARED_JOB = { m: 256 * 9, n: 256, k: 8192, tile: 256 }
const SHARED_BYTES = 8192 * 256 * 4

interface Volunteer {
  context: BrowserContext
  page: Page
}

let volunteers = 0

/** @param pressure the CPU pressure its page reports at first (critical: the governor pauses computing). */
async function volunteer(browser: Browser, hub: Hub, pressure: 'nominal' | 'critical' = 'nominal'): Promise<Volunteer> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
  // One CPU worker each (three browsers share two cores), no GPU probe.
  await context.addInitScript(() => localStorage.setItem('meshwork.settings.v1', JSON.stringify({ workers: 1, backend: 'cpu', peers: true, cacheMB: 512 })))
  const page = await context.newPage()
  await setPressure(page, pressure)
  const label = ++volunteers
  if (process.env.MESHWORK_E2E_DEBUG) page.on('console', (m) => console.log(`[volunteer ${label}] ${m.text()}`))
  await page.goto(hub.url)
  return { context, page }
}

async function createJob(hub: Hub, params: Record<string, unknown>): Promise<string> {
  const response = await hub.owner('/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workload: 'matmul', label: 'shared input', params: { ...params, inputs: { kind: 'random', seed: 5 } } }),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

/** How many times the hub served each blob over HTTP. */
async function servedByHash(hub: Hub): Promise<Record<string, { served: number; bytes: number }>> {
  const stats = (await (await hub.owner('/stats')).json()) as { blobs: { byHash: Record<string, { served: number; bytes: number }> } }
  return stats.blobs.byHash
}

async function jobDone(hub: Hub, id: string): Promise<boolean> {
  const job = (await (await hub.owner(`/jobs/${id}`)).json()) as { state: string }
  return job.state === 'done'
}

async function network(page: Page, id: string, attribute = 'data-bytes'): Promise<number> {
  if (!page.url().endsWith('#/network')) await page.getByRole('link', { name: 'Network' }).click()
  return Number(await page.getByTestId(id).getAttribute(attribute))
}

async function contribute(v: Volunteer): Promise<void> {
  await v.page.getByRole('link', { name: 'Contribute' }).click()
  await v.page.getByRole('button', { name: 'Contribute' }).click()
}

test.describe('peers', () => {
  // Only the jobs each test creates.
  test.use({ hubEnv: { MESHWORK_DEMO: 'off' } })

  test('three browsers share an 8 MB input over direct WebRTC; the hub serves it once and receipts credit the servers', async ({ browser, hub }) => {
    test.setTimeout(180_000)
    // All three start paused (critical CPU pressure): a paused volunteer still leases units and fetches their inputs,
    // but computes nothing, so no one finishes the job before the others have joined (units take well under a
    // second each here, far less than a browser takes to start).
    const [a, b, c] = [await volunteer(browser, hub, 'critical'), await volunteer(browser, hub, 'critical'), await volunteer(browser, hub, 'critical')]

    // The first volunteer starts alone: it takes B₀ from the hub and announces it.
    await contribute(a)
    const job = await createJob(hub, SHARED_JOB)
    await expect.poll(async () => Object.values(await servedByHash(hub)).some((h) => h.bytes >= SHARED_BYTES), { timeout: 30_000 }).toBe(true)

    // The others join later: they find it on the peers topic and fetch B₀ from it (or from each other).
    await Promise.all([contribute(b), contribute(c)])
    for (const v of [b, c]) await expect.poll(() => network(v.page, 'bytes-received'), { timeout: 60_000 }).toBeGreaterThanOrEqual(SHARED_BYTES)
    // Then everyone computes: each holds two leased units, so all three take part.
    for (const v of [a, b, c]) await setPressure(v.page, 'nominal')
    await expect.poll(() => jobDone(hub, job), { timeout: 120_000 }).toBe(true)

    // Every blob left the hub exactly once: B₀ once for three volunteers, each A block once for its unit.
    const served = await servedByHash(hub)
    const shared = Object.entries(served).filter(([, h]) => h.bytes >= SHARED_BYTES && h.bytes % SHARED_BYTES === 0)
    const failures: string[] = []
    for (const v of [a, b, c]) {
      await network(v.page, 'bytes-received')
      failures.push(...(await v.page.getByTestId('peer-failures').locator('li').allTextContents()))
    }
    expect(Object.values(served).every((h) => h.served === 1), `served ${JSON.stringify(served)}; failed peer transfers: ${failures.join('; ') || 'none'}`).toBe(true)
    expect(shared.length).toBeGreaterThanOrEqual(1)

    // All three computed, and the two latecomers received B₀ from peers over a direct WebRTC connection.
    for (const v of [a, b, c]) {
      await v.page.getByRole('link', { name: 'Contribute' }).click()
      await expect.poll(() => count(v.page, 'count-verified')).toBeGreaterThanOrEqual(1)
    }
    for (const v of [b, c]) {
      expect(await network(v.page, 'bytes-received')).toBeGreaterThanOrEqual(SHARED_BYTES)
      await expect(v.page.locator('[data-testid="peer-row"][data-kind="direct"]').first()).toBeVisible()
    }

    // Bandwidth credit goes to whoever served, exactly bytes served x the rate, and to no one else.
    let servedTotal = 0
    let receivedTotal = 0
    for (const v of [a, b, c]) {
      const bytesServed = await network(v.page, 'bytes-served')
      servedTotal += bytesServed
      receivedTotal += await network(v.page, 'bytes-received')
      await expect.poll(() => network(v.page, 'bandwidth-credit', 'data-flops'), { timeout: 20_000 }).toBe(bytesServed * BANDWIDTH_FLOPS_PER_BYTE)
    }
    expect(servedTotal).toBe(receivedTotal)
    expect(servedTotal).toBeGreaterThanOrEqual(2 * SHARED_BYTES)
    for (const v of [a, b, c]) await v.context.close()
  })

  test('a peer that serves corrupted bytes is dropped, and the unit still completes with the right input', async ({ browser, hub }) => {
    test.setTimeout(120_000)
    const job = await createJob(hub, { m: 256 * 2, n: 256, k: 8192, tile: 256 })
    const bad = await volunteer(browser, hub)
    await contribute(bad)
    // It computes both units of the first job (A₀, A₁ and B₀ are then on its disk).
    await expect.poll(() => jobDone(hub, job), { timeout: 60_000 }).toBe(true)

    // Its disk copies of the inputs go bad (it still announces them; serving peers do not re-hash, receivers do).
    const flipped = await bad.page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('meshwork')
        open.onsuccess = () => resolve(open.result)
        open.onerror = () => reject(open.error)
      })
      const all = await new Promise<{ hash: string; data: Blob }[]>((resolve) => {
        const request = db.transaction('blobs').objectStore('blobs').getAll()
        request.onsuccess = () => resolve(request.result as { hash: string; data: Blob }[])
      })
      // The store keeps Blobs; flip one byte of each and write it back.
      const flippedEntries = await Promise.all(
        all.map(async (entry) => {
          const bytes = new Uint8Array(await entry.data.arrayBuffer())
          bytes[1000] ^= 0xff
          return { ...entry, data: new Blob([bytes]) }
        }),
      )
      const store = db.transaction('blobs', 'readwrite').objectStore('blobs')
      for (const entry of flippedEntries) store.put(entry)
      return all.length
    })
    expect(flipped).toBe(3)

    // A second job reads the same B₀ (same seed, same k and n). The bad peer keeps contributing from the copy in its
    // memory, and keeps announcing B₀; the newcomer asks it first, since nobody else has it.
    const second = await createJob(hub, { m: 256 * 6, n: 256, k: 8192, tile: 256 })
    const good = await volunteer(browser, hub)
    await contribute(good)
    await expect.poll(() => jobDone(hub, second), { timeout: 90_000 }).toBe(true)
    await expect.poll(() => count(good.page, 'count-verified')).toBeGreaterThanOrEqual(1)
    await good.page.getByRole('link', { name: 'Network' }).click()
    await expect(good.page.getByTestId('dropped-peers')).toContainText('bytes do not match their hash')
    await good.page.getByRole('link', { name: 'Contribute' }).click()
    expect(await count(good.page, 'count-rejected')).toBe(0)
    for (const v of [bad, good]) await v.context.close()
  })
})

test('when the hub restarts, browsers reconnect to its relay and carry on', async ({ browser }) => {
  test.setTimeout(120_000)
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-restart-'))
  let hub = await startHub({ m: 512, n: 512, k: 256, tile: 256 }, dir)
  // The restarted hub comes back at the same addresses: the HTTP port and its peer listener's port.
  const port = hub.port
  const env = { MESHWORK_P2P_PORT: String(hub.p2pPort) }
  try {
    const [a, b] = [await volunteer(browser, hub), await volunteer(browser, hub)]
    await Promise.all([contribute(a), contribute(b)])
    for (const v of [a, b]) {
      await v.page.getByRole('link', { name: 'Network' }).click()
      await expect(v.page.getByTestId('peer-state')).toHaveAttribute('data-state', 'on')
      await expect(v.page.getByTestId('peer-state')).toContainText('reachable by other volunteers')
    }
    const p2pStats = async () => ((await (await hub.owner('/stats')).json()) as { p2p: { peerId: string; relayReservations: number; topicPeers: number } }).p2p
    await expect.poll(async () => (await p2pStats()).relayReservations).toBe(2)
    const { peerId } = await p2pStats()
    await hub.stop()
    hub = await startHub({ m: 512, n: 512, k: 256, tile: 256 }, dir, env, port)
    // The new process has the same peer id (its key lives in the data directory), and both browsers come back to it:
    // each holds a relay reservation again and listens on the peers topic.
    expect((await p2pStats()).peerId).toBe(peerId)
    await expect.poll(async () => (await p2pStats()).relayReservations, { timeout: 30_000 }).toBe(2)
    await expect.poll(async () => (await p2pStats()).topicPeers, { timeout: 30_000 }).toBe(2)
    for (const v of [a, b]) await expect(v.page.getByTestId('peer-state')).toContainText('reachable by other volunteers')
    const before = await Promise.all([a, b].map(async (v) => {
      await v.page.getByRole('link', { name: 'Contribute' }).click()
      return count(v.page, 'count-verified')
    }))
    for (const [i, v] of [a, b].entries()) {
      await expect.poll(() => count(v.page, 'count-verified'), { timeout: 60_000 }).toBeGreaterThan(before[i])
    }
    for (const v of [a, b]) await v.context.close()
  } finally {
    await hub.stop()
    const { rmSync } = await import('node:fs')
    rmSync(dir, { recursive: true, force: true })
  }
})
