/**
 * The installable, offline app: Chromium's own installability check, the app opening from the service worker with the
 * hub down and finishing its buffer of leased units, and a new build deployed under a running page.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from '@playwright/test'
import config, { CHROMIUM } from '../playwright.config.ts'
import { count, expect, startHub, test, type Hub } from './hub.ts'

interface Job {
  id: string
  units: { total: number; unsent: number; leased: number; done: number }
}

async function jobs(hub: Hub): Promise<Job[]> {
  return ((await (await hub.owner('/jobs')).json()) as { jobs: Job[] }).jobs
}

/** Waits until the service worker controls the page (after its first install, a reload hands the page to it). */
async function controlledBySW(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready)
  if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) await page.reload()
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true)
}

test('Chromium finds the app installable, and the page offers Install when the browser allows it', async ({ hub }) => {
  // Chromium never offers installation in an incognito-like context (Playwright's default), so this test uses a
  // profile on disk, as a person's browser does.
  const profile = mkdtempSync(join(tmpdir(), 'meshwork-profile-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: config.use?.launchOptions?.args })
  const page = context.pages()[0] ?? (await context.newPage())
  try {
    await installable(page, hub)
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  }
})

async function installable(page: Page, hub: Hub): Promise<void> {
  await page.goto(hub.url)
  await controlledBySW(page)
  const cdp = await page.context().newCDPSession(page)
  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }
  expect(installabilityErrors).toEqual([])
  const { url } = (await cdp.send('Page.getAppManifest')) as { url: string }
  expect(url).toBe(`${hub.url}/manifest.webmanifest`)
  const manifest = (await (await fetch(url)).json()) as { display: string; short_name: string; icons: { sizes: string; purpose: string }[] }
  expect(manifest).toMatchObject({ display: 'standalone', short_name: 'Meshwork' })
  expect(manifest.icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual(['192x192 any', '512x512 any', '512x512 maskable'])

  // With a profile on disk, Chromium itself fires beforeinstallprompt for an installable app: the page offers Install.
  await expect(page.getByRole('button', { name: 'Install app' })).toBeVisible()
}

test.describe('offline', () => {
  // 4 units of 2·256·256·4096 flops; two workers lease all four at once.
  const demo = { m: 512, n: 512, k: 4096, tile: 256 }
  let dir: string
  let port: number
  let hub: Hub

  test.beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshwork-pwa-'))
    hub = await startHub(demo, dir, { MESHWORK_P2P: 'off' })
    port = hub.port
  })
  test.afterEach(async () => {
    await hub.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('with the hub down the app opens from the service worker, finishes its leased units, and uploads them all when the hub returns', async ({
    page,
  }) => {
    await page.goto(hub.url)
    await controlledBySW(page)
    await page.getByRole('slider').fill('2')
    // Inputs are held back until the person has pressed Stop, so no unit is computed before the hub goes away.
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    await page.route('**/api/v1/blobs/*', async (route) => {
      await released
      await route.continue()
    })
    await page.getByRole('button', { name: 'Contribute' }).click()
    // Two workers lease all four units at once; the person stops. The units stay in the lease buffer, and their
    // inputs (two blocks of A, two of B), already requested, still land in the device's cache.
    await expect(page.getByTestId('task')).toHaveCount(4)
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect(page.getByRole('button', { name: 'Contribute' })).toBeVisible()
    release()
    await expect.poll(() => storedBlobs(page), { timeout: 60_000 }).toBe(4)
    await page.unroute('**/api/v1/blobs/*')
    const [job] = await jobs(hub)
    expect(job.units).toMatchObject({ total: 4, leased: 4, unsent: 0, done: 0 })
    await hub.stop()

    // A fresh load with no hub: the shell comes from the service worker, and the four leased units are still there.
    await page.reload()
    await expect(page.getByTestId('offline')).toHaveAttribute('data-state', 'hub-unreachable')
    expect(await count(page, 'count-waiting')).toBe(0)
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect.poll(() => count(page, 'count-waiting'), { timeout: 90_000 }).toBe(4)
    await expect(page.getByTestId('offline')).toContainText('Hub unreachable · 4 results waiting to upload')
    await page.getByRole('button', { name: 'Stop' }).click()

    // The hub comes back on the same address: every result uploads, and the job completes with nothing lost.
    hub = await startHub(demo, dir, { MESHWORK_P2P: 'off' }, port)
    await expect.poll(() => count(page, 'count-waiting'), { timeout: 60_000 }).toBe(0)
    await expect.poll(async () => (await jobs(hub)).find((j) => j.id === job.id)?.units.done, { timeout: 30_000 }).toBe(4)
    await expect.poll(() => count(page, 'count-verified')).toBe(4)
    await expect(page.getByTestId('offline')).toHaveCount(0)
  })
})

/** Input blobs in the device's IndexedDB cache. */
function storedBlobs(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('meshwork')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const request = open.result.transaction('blobs').objectStore('blobs').count()
          request.onsuccess = () => {
            resolve(request.result)
            open.result.close()
          }
        }
      }),
  )
}

test('a new build deployed under a running page: the page offers the update, finishes its units, reloads into it, and loses no result', async ({
  page,
}) => {
  test.setTimeout(240_000)
  const root = mkdtempSync(join(tmpdir(), 'meshwork-deploy-'))
  const live = join(root, 'live')
  const next = join(root, 'next')
  cpSync('dist', live, { recursive: true })
  // The next version: a real second build of the app.
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', next, '--emptyOutDir', '--logLevel', 'warn'], {
    env: { ...process.env, MESHWORK_BUILD_ID: 'next-build' },
    stdio: 'pipe',
  })
  const hub = await startHub({ m: 768, n: 768, k: 1024, tile: 256 }, undefined, { STATIC_DIR: live, MESHWORK_P2P: 'off' })
  try {
    await page.goto(hub.url)
    await controlledBySW(page)
    const firstBuild = await page.getByTestId('build-id').textContent()
    expect(firstBuild).not.toBe('next-build')
    const [job] = await jobs(hub)
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect.poll(() => count(page, 'count-verified'), { timeout: 60_000 }).toBeGreaterThanOrEqual(1)

    // Deploy: the next build replaces the live one; the page looks for updates (as it does every 30 minutes and
    // whenever it becomes visible).
    rmSync(live, { recursive: true, force: true })
    cpSync(next, live, { recursive: true })
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update())
    await expect(page.getByTestId('update')).toContainText('A new version of Meshwork is ready')
    await page.getByRole('button', { name: 'Reload to update' }).click()

    // The new version runs and contributing carried on.
    await expect(page.getByTestId('build-id')).toHaveText('next-build', { timeout: 60_000 })
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible()
    await expect(page.getByText('Meshwork was updated; contributing carries on')).toBeVisible()
    const progress = async () => (await jobs(hub)).find((j) => j.id === job.id)!.units
    await expect.poll(async () => (await progress()).done, { timeout: 90_000 }).toBe(9)
    await page.getByRole('button', { name: 'Stop' }).click()
    // Nothing lost: every unit of the job was verified, each exactly once in this device's credit.
    await expect.poll(() => count(page, 'count-waiting')).toBe(0)
    await expect.poll(() => count(page, 'count-verified')).toBeGreaterThanOrEqual(9)
    expect(await progress()).toMatchObject({ total: 9, done: 9, leased: 0, unsent: 0 })
  } finally {
    await hub.stop()
    rmSync(root, { recursive: true, force: true })
  }
})
