/**
 * Test fixtures: each test gets a real hub process (see start-hub.ts) and a fresh browser context.
 */
import { test as base, expect } from '@playwright/test'
import { DEFAULT_DEMO, startHub, type DemoParams, type Hub } from './start-hub.ts'

export { DEFAULT_DEMO, OWNER_TOKEN, freePort, startHub } from './start-hub.ts'
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
})

export { expect }

/** Reads a numeric count from the Contribute view. */
export async function count(page: import('@playwright/test').Page, id: string): Promise<number> {
  return Number(await page.getByTestId(id).textContent())
}
