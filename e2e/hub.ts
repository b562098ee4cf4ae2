/**
 * Test fixtures: each test gets a real hub process (see start-hub.ts) and a fresh browser context.
 */
import { test as base, expect, type CDPSession, type Page } from '@playwright/test'
import { DEFAULT_DEMO, startHub, type DemoParams, type Hub } from './start-hub.ts'

export { DEFAULT_DEMO, OWNER_TOKEN, startHub } from './start-hub.ts'
export type { DemoParams, Hub } from './start-hub.ts'

export const test = base.extend<{ hub: Hub; demo: DemoParams; hubEnv: Record<string, string> }>({
  demo: [DEFAULT_DEMO, { option: true }],
  /** Extra environment for the hub process (e.g. MESHWORK_DEMO=off). */
  hubEnv: [{}, { option: true }],
  hub: async ({ demo, hubEnv }, use) => {
    const hub = await startHub(demo, undefined, hubEnv)
    await use(hub)
    await hub.stop()
  },
  // Every page starts at nominal CPU pressure (see setPressure).
  page: async ({ page }, use) => {
    await setPressure(page, 'nominal')
    await use(page)
  },
})

const pressureSessions = new WeakMap<Page, CDPSession>()

/**
 * Overrides the CPU pressure Chromium reports to the page (DevTools, see ENVIRONMENT.md); call it before the page
 * loads to set the first reading. The tests' own computing puts a shared two-core machine under real pressure, and the
 * governor would then reduce or pause work in tests about other things (a split unit needs both workers), so every
 * fixture page starts at nominal; pages a test opens itself call this. Returns the DevTools session that holds the
 * override (the override lasts as long as the session).
 */
export async function setPressure(page: Page, state: 'nominal' | 'fair' | 'serious' | 'critical'): Promise<CDPSession> {
  let cdp = pressureSessions.get(page)
  if (!cdp) {
    cdp = await page.context().newCDPSession(page)
    await cdp.send('Emulation.setPressureSourceOverrideEnabled' as never, { enabled: true, source: 'cpu' } as never)
    pressureSessions.set(page, cdp)
  }
  await cdp.send('Emulation.setPressureStateOverride' as never, { source: 'cpu', state } as never)
  return cdp
}

export { expect }

/** Reads a numeric count from the Contribute view. */
export async function count(page: import('@playwright/test').Page, id: string): Promise<number> {
  return Number(await page.getByTestId(id).textContent())
}

/**
 * Saves the app's settings before the page loads: `workers` workers on `backend`, peers off, and a governor that lets
 * them all compute at `duty` percent whether the person is idle or not (idle after 10 minutes, no battery rule).
 */
export async function seedSettings(
  page: import('@playwright/test').Page,
  { workers = 1, backend = 'cpu', duty = 100 }: { workers?: number; backend?: 'cpu' | 'webgpu'; duty?: number } = {},
): Promise<void> {
  const settings = {
    workers,
    backend,
    cacheMB: 512,
    peers: false,
    governor: { idleSeconds: 600, activeWorkers: workers, activeDutyPercent: duty, idleDutyPercent: duty, batteryMinPercent: null },
  }
  await page.addInitScript((saved) => localStorage.setItem('meshwork.settings.v1', saved), JSON.stringify(settings))
}
