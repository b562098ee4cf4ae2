/**
 * The partner widget end to end (issue 5): a partner's page on another site (http://localhost:P, while the hub is
 * http://127.0.0.1:Q) includes the hub's widget.js and one element. Its own script cannot start compute (by messages,
 * by reaching into the frame, or by changing the frame's URL); a click inside the frame does, the page receives the
 * widget's events, and the hub credits the verified work to the partner. Results left in the widget's outbox upload
 * on the next visit without a click.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type LaunchOptions, type Page } from '@playwright/test'
import type { PartnerReport } from '../protocol/schemas.ts'
import { startChain } from './chain.ts'
import { expect, startHub, test as base, type Hub } from './hub.ts'
import { installTestWallet } from './test-wallet.ts'

interface PartnerSite {
  url: string
  close(): Promise<void>
}

/**
 * Chrome partitions the storage of third-party frames (since 115), so an embedded widget keeps its own IndexedDB even
 * where third-party cookies are blocked. Playwright turns that off (microsoft/playwright#32230), and then Chromium
 * refuses the widget any storage in its incognito-like contexts, which no visitor's Chrome does: these tests run with
 * Playwright's other switches but partitioning back on.
 */
const test = base.extend<{ site: PartnerSite }, { launchOptions: LaunchOptions }>({
  /** The partner's site, embedding the test's hub. */
  site: async ({ hub }, use) => {
    const site = await startPartnerSite(hub.url)
    await use(site)
    await site.close()
  },
  launchOptions: [
    async ({ launchOptions }, use) => {
      const probe = await chromium.launchServer(launchOptions)
      const defaults = probe.process().spawnargs.find((arg) => arg.startsWith('--disable-features='))
      await probe.close()
      if (!defaults?.includes('ThirdPartyStoragePartitioning')) return use(launchOptions)
      const kept = defaults.replace(/(?<==|,)ThirdPartyStoragePartitioning(,|$)/, '').replace(/,$/, '')
      await use({ ...launchOptions, ignoreDefaultArgs: [defaults], args: [...(launchOptions.args ?? []), kept] })
    },
    { scope: 'worker' },
  ],
})

/** 4 units of 2·128·128·256 flops: seconds of work. */
const DEMO = { m: 256, n: 256, k: 256, tile: 128 }
const UNIT_FLOPS = 2 * DEMO.tile * DEMO.tile * DEMO.k
const PARTNER = 'example-news'

test.use({ demo: DEMO })

interface RecordedEvent {
  type: string
  detail: Record<string, unknown>
}

/** A partner's site: one page with the widget's script tag and element, recording the widget's events. */
async function startPartnerSite(hubUrl: string): Promise<PartnerSite> {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example News</title></head>
<body>
  <h1>Example News</h1>
  <p>Today's story, and a way to help science.</p>
  <div id="news" data-meshwork-widget data-partner="${PARTNER}" data-label="Example News"></div>
  <div id="bad" data-meshwork-widget data-partner="Not A Valid Id"></div>
  <script>
    window.meshworkEvents = [];
    for (const type of ['started', 'stopped', 'progress', 'credit']) {
      document.addEventListener('meshwork:' + type, (event) => {
        window.meshworkEvents.push({ type, target: event.target.id, detail: event.detail });
      });
    }
  </script>
  <script src="${hubUrl}/widget.js" async></script>
</body></html>`
  const server = createServer((request, response) => {
    if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      response.end(html)
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  // localhost and 127.0.0.1 are different sites: the widget is a third-party frame, as on a real partner's page.
  return { url: `http://localhost:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

const events = (page: Page) => page.evaluate(() => (window as unknown as { meshworkEvents: RecordedEvent[] }).meshworkEvents)

async function partnerReport(hub: Hub): Promise<PartnerReport['partners']> {
  return ((await (await hub.owner('/partners')).json()) as PartnerReport).partners
}

/** Units the hub has handed out (leased or further). */
async function unitsHandedOut(hub: Hub): Promise<number> {
  const { jobs } = (await (await hub.owner('/jobs')).json()) as { jobs: { units: { total: number; unsent: number } }[] }
  return jobs.reduce((sum, job) => sum + job.units.total - job.units.unsent, 0)
}

async function doneUnits(hub: Hub): Promise<number> {
  const { jobs } = (await (await hub.owner('/jobs')).json()) as { jobs: { units: { done: number } }[] }
  return jobs.reduce((sum, job) => sum + job.units.done, 0)
}

test('the partner page cannot start compute; a click in the widget does, and its verified credit is the partner\'s', async ({ page, hub, site }) => {
  await page.goto(site.url)
  const iframe = page.locator('#news iframe')
  await expect(iframe).toHaveAttribute('sandbox', 'allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox')
  expect(new URL((await iframe.getAttribute('src'))!).origin).toBe(hub.url)
  await expect(iframe).toHaveAttribute('title', 'Meshwork: lend spare computing power with Example News')
  const widget = page.frameLocator('#news iframe')
  await expect(widget.getByTestId('embed-partner')).toHaveText('Example News')
  await expect(widget.getByTestId('embed-job')).toContainText('What runs:')
  await expect(widget.getByRole('button', { name: 'Start' })).toBeVisible()
  // A malformed partner id renders nothing and says why.
  await expect(page.locator('#bad')).toHaveAttribute('data-meshwork-error', /^data-partner must be 1 to 64 of a-z 0-9 -/)
  await expect(page.locator('#bad iframe')).toHaveCount(0)
  // The iframe follows the card's height, which the card reports.
  const embed = page.frames().find((f) => f.url().startsWith(`${hub.url}/embed.html`))!
  await expect
    .poll(async () => {
      const card = await embed.evaluate(() => Math.ceil(document.body.getBoundingClientRect().height))
      return (await iframe.boundingBox())?.height === card
    })
    .toBe(true)
  // An element added later gets its widget too, at the height the partner fixed.
  expect(await page.evaluate(() => (window as unknown as { Meshwork: { version: number } }).Meshwork.version)).toBe(1)
  await page.evaluate(() => {
    const later = Object.assign(document.createElement('div'), { id: 'later' })
    later.dataset.meshworkWidget = ''
    later.dataset.partner = 'example-news'
    later.dataset.height = '200'
    document.body.append(later)
  })
  await expect(page.locator('#later iframe')).toHaveCount(1)
  expect((await page.locator('#later iframe').boundingBox())?.height).toBe(200)
  await page.evaluate(() => document.getElementById('later')!.remove())

  // The partner's script tries everything it can from outside the frame.
  const attempts = await page.evaluate(async () => {
    const frame = document.querySelector<HTMLIFrameElement>('#news iframe')!
    const target = frame.contentWindow!
    const hubOrigin = new URL(frame.src).origin
    const outcome = (read: () => unknown) => {
      try {
        read()
        return 'readable'
      } catch (error) {
        return (error as Error).name
      }
    }
    const commands: unknown[] = [
      'start',
      { type: 'start' },
      { type: 'meshwork:start' },
      { source: 'meshwork', type: 'start' },
      { source: 'meshwork', type: 'started', running: true },
      { source: 'meshwork', type: 'contribute' },
      { command: 'start' },
      { action: 'contribute', workers: 4 },
      { type: 'click', target: 'Start' },
      { jsonrpc: '2.0', method: 'start', id: 1 },
    ]
    for (const command of commands) {
      target.postMessage(command, '*')
      target.postMessage(command, hubOrigin)
    }
    return {
      document: outcome(() => target.document.body.innerHTML),
      contentDocument: frame.contentDocument === null ? 'null' : 'readable',
      storage: outcome(() => target.localStorage.length),
      location: outcome(() => target.location.href),
      click: outcome(() => (target.document.querySelector('button') as HTMLButtonElement).click()),
    }
  })
  expect(attempts).toEqual({ document: 'SecurityError', contentDocument: 'null', storage: 'SecurityError', location: 'SecurityError', click: 'SecurityError' })
  // The page also navigates the frame to a URL with every "start" parameter it can think of.
  await page.evaluate(() => {
    const frame = document.querySelector<HTMLIFrameElement>('#news iframe')!
    frame.src = `${frame.src}&autostart=1&start=true&running=true&consent=1`
  })
  await expect(widget.getByRole('button', { name: 'Start' })).toBeVisible()

  // Clickjacking: the page covers the widget with its own content that lets clicks through, or fades it out, so a
  // visitor would press Start without seeing it. The widget refuses while it is not plainly visible.
  for (const disguise of ['overlay', 'opacity'] as const) {
    await page.evaluate((how) => {
      const box = document.querySelector<HTMLElement>('#news')!
      if (how === 'opacity') {
        box.style.opacity = '0.2'
        return
      }
      const rect = box.getBoundingClientRect()
      const cover = Object.assign(document.createElement('div'), { id: 'cover', textContent: 'Click to win a prize!' })
      cover.style.cssText = `position:absolute;left:${rect.left}px;top:${rect.top + scrollY}px;width:${rect.width}px;height:${rect.height}px;background:#fff;pointer-events:none`
      document.body.append(cover)
    }, disguise)
    await page.waitForTimeout(300)
    await widget.getByRole('button', { name: 'Start' }).click({ force: true })
    await expect(widget.getByRole('alert').filter({ hasText: 'starts only when this box is fully visible' })).toBeVisible()
    await page.evaluate(() => {
      document.getElementById('cover')?.remove()
      document.querySelector<HTMLElement>('#news')!.style.opacity = ''
    })
  }

  await page.waitForTimeout(3000)
  expect(await unitsHandedOut(hub)).toBe(0)
  expect(await partnerReport(hub)).toEqual([])
  expect(await events(page)).toEqual([])

  // A person clicks Start inside the widget, in plain view.
  await page.waitForTimeout(300)
  await widget.getByRole('button', { name: 'Start' }).click()
  await expect.poll(async () => (await events(page)).some((e) => e.type === 'started')).toBe(true)
  await expect(widget.getByRole('button', { name: 'Stop' })).toBeVisible()
  await expect.poll(async () => (await partnerReport(hub))[0]?.units ?? 0, { timeout: 90_000 }).toBeGreaterThanOrEqual(4)
  await widget.getByRole('button', { name: 'Stop' }).click()
  await expect.poll(async () => (await events(page)).some((e) => e.type === 'stopped')).toBe(true)

  // Once uploads and verification settle: every unit the hub verified is the partner's, at 2·m·n·k each, and the
  // partner's page was told the same credit.
  await expect(widget.getByTestId('embed-waiting')).toHaveText('0')
  await expect
    .poll(async () => {
      const [row] = await partnerReport(hub)
      const credit = (await events(page)).filter((e) => e.type === 'credit').at(-1)?.detail.creditFlops
      const done = await doneUnits(hub)
      return row && row.units === done && row.creditFlops === row.units * UNIT_FLOPS && credit === row.creditFlops
    })
    .toBe(true)
  const [row] = await partnerReport(hub)
  expect(row).toEqual({ partner: PARTNER, units: row.units, creditFlops: row.units * UNIT_FLOPS, devices: 1 })
  await expect(widget.getByTestId('embed-credit')).toHaveAttribute('data-flops', String(row.creditFlops))

  // The events carry only the harmless fields, from this element, in a sensible order.
  const recorded = await events(page)
  const types = recorded.map((e) => e.type)
  expect(types.indexOf('started')).toBeLessThan(types.indexOf('credit'))
  expect(types).toContain('progress')
  for (const event of recorded) {
    expect(Object.keys(event.detail).sort()).toEqual(['creditFlops', 'progress', 'running', 'unitsDone'])
    expect((event as unknown as { target: string }).target).toBe('news')
    expect(event.detail.progress).toBeGreaterThanOrEqual(0)
    expect(event.detail.progress).toBeLessThanOrEqual(1)
  }
  const progress = recorded.filter((e) => e.type === 'progress').map((e) => e.detail.unitsDone as number)
  expect(progress).toEqual([...progress].sort((a, b) => a - b))
  expect(Math.max(...progress)).toBeGreaterThanOrEqual(4)
})

test('results queued in the widget upload on the next visit, without a click', async ({ page, hub, site }) => {
  await page.goto(site.url)
  const widget = page.frameLocator('#news iframe')
  // Uploads fail, so finished results stay in the widget's outbox (IndexedDB, partitioned under the partner's site).
  await page.route('**/api/v1/results**', (route) => route.abort('connectionrefused'))
  await widget.getByRole('button', { name: 'Start' }).click()
  await expect.poll(async () => Number(await widget.getByTestId('embed-waiting').textContent()), { timeout: 90_000 }).toBeGreaterThanOrEqual(2)
  await widget.getByRole('button', { name: 'Stop' }).click()
  const waiting = Number(await widget.getByTestId('embed-waiting').textContent())
  expect(await partnerReport(hub)).toEqual([])

  // The visitor leaves and comes back later: the page reloads, and nobody presses Start.
  await page.unroute('**/api/v1/results**')
  await page.reload()
  await expect(widget.getByRole('button', { name: 'Start' })).toBeVisible()
  await expect(widget.getByTestId('embed-waiting')).toHaveText('0')
  await expect.poll(async () => (await partnerReport(hub))[0]?.units ?? 0).toBeGreaterThanOrEqual(waiting)
  const [row] = await partnerReport(hub)
  expect(row).toMatchObject({ partner: PARTNER, creditFlops: row.units * UNIT_FLOPS })
  // The new page learns the credit, and was never told the widget started.
  await expect.poll(async () => (await events(page)).filter((e) => e.type === 'credit').at(-1)?.detail.creditFlops).toBe(row.creditFlops)
  expect((await events(page)).some((e) => e.type === 'started')).toBe(false)
  expect(await widget.getByTestId('embed-computing').textContent()).toBe('0')
})

test('the widget is governed too: on a discharging battery (a stub: no battery exists here) it pauses and says why', async ({ page, site }) => {
  // In every frame, the widget's included: this machine has no battery, so Chromium reports a charging, full one.
  await page.addInitScript(() => {
    const battery = Object.assign(new EventTarget(), { charging: false, level: 0.6, chargingTime: Infinity, dischargingTime: 3600 })
    Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: () => Promise.resolve(battery) })
  })
  await page.goto(site.url)
  const widget = page.frameLocator('#news iframe')
  await widget.getByRole('button', { name: 'Start' }).click()
  await expect(widget.getByTestId('embed-governor')).toHaveText('Paused: on battery')
  await page.waitForTimeout(1500)
  expect(await widget.getByTestId('embed-done').textContent()).toBe('0')
  expect(await widget.getByTestId('embed-computing').textContent()).toBe('0')
})

test('signing in with a wallet inside the widget links the widget\'s device to that wallet', async ({ page, context }) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-widget-wallet-'))
  const chain = await startChain(dir)
  const hub = await startHub(DEMO, dir)
  const site = await startPartnerSite(hub.url)
  try {
    // anvil's second funded development account; the test wallet is injected into every frame, the widget's included.
    const key = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
    const wallet = await installTestWallet(page, { privateKey: key, rpcUrl: chain.rpcUrl, rpcChainId: chain.chainId })
    await page.goto(site.url)
    const widget = page.frameLocator('#news iframe')
    await page.waitForTimeout(300)
    await widget.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => Number(await widget.getByTestId('embed-verified').textContent()), { timeout: 90_000 }).toBeGreaterThanOrEqual(2)
    await widget.getByRole('button', { name: 'Stop' }).click()
    await expect(widget.getByTestId('embed-waiting')).toHaveText('0')
    await expect.poll(async () => (await partnerReport(hub))[0]?.creditFlops ?? 0).toBeGreaterThan(0)
    const [row] = await partnerReport(hub)
    await expect(widget.getByTestId('embed-credit')).toHaveAttribute('data-flops', String(row.creditFlops))

    // The wallet module loads only now; connecting and signing in happen inside the frame.
    await widget.getByRole('button', { name: 'Link a wallet' }).click()
    await widget.getByRole('button', { name: 'Connect Meshwork Test Wallet' }).click()
    await widget.getByRole('button', { name: 'Sign in with Ethereum' }).click()
    await expect(widget.getByTestId('embed-wallet-linked')).toContainText(wallet.address.slice(0, 6))
    expect(wallet.calls).toContain('personal_sign')

    // The same wallet in the Meshwork app (its own device, no credit) sees the widget's device and its credit.
    const app = await context.newPage()
    await installTestWallet(app, { privateKey: key, rpcUrl: chain.rpcUrl, rpcChainId: chain.chainId })
    await app.goto(`${hub.url}/#/wallet`)
    await app.getByRole('button', { name: 'Connect Meshwork Test Wallet' }).click()
    await app.getByRole('button', { name: 'Sign in with Ethereum' }).click()
    await expect(app.getByTestId('wallet-credit')).toHaveAttribute('data-flops', String(row.creditFlops))
    await expect(app.getByText('2 linked devices')).toBeVisible()
  } finally {
    await site.close()
    await hub.stop()
    await chain.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('where the browser refuses an embedded site any storage, the widget says so and starts nothing', async ({ hub, site, launchOptions }) => {
  // A browser without partitioned storage for third-party frames, in a private context that blocks third-party data
  // (Chrome before 115, or with partitioning turned off): the widget has nowhere to keep a device key or results.
  const browser = await chromium.launch({
    executablePath: launchOptions.executablePath,
    args: ['--disable-quic', '--disable-features=ThirdPartyStoragePartitioning'],
  })
  try {
    const page = await browser.newPage()
    await page.goto(site.url)
    const widget = page.frameLocator('#news iframe')
    await expect(widget.getByTestId('embed-storage-blocked')).toContainText('does not let sites embedded in other pages keep data')
    await expect(widget.getByRole('link', { name: 'the Meshwork site' })).toHaveAttribute('target', '_blank')
    await expect(widget.getByRole('button', { name: 'Start' })).toHaveCount(0)
    expect(await unitsHandedOut(hub)).toBe(0)
  } finally {
    await browser.close()
  }
})
