import { count, expect, test, DEFAULT_DEMO } from './hub.ts'

const UNIT_FLOPS = 2 * DEFAULT_DEMO.tile * DEFAULT_DEMO.tile * DEFAULT_DEMO.k

async function leasedOrDone(hub: { owner: (p: string) => Promise<Response> }): Promise<number> {
  const { jobs } = (await (await hub.owner('/jobs')).json()) as { jobs: { units: { leased: number; done: number; total: number; unsent: number } }[] }
  return jobs.reduce((s, j) => s + (j.units.total - j.units.unsent), 0)
}

test('nothing computes before the click; contributing earns verified credit equal to the units\' operation counts', async ({ page, hub }) => {
  await page.goto(hub.url)
  await expect(page.getByRole('heading', { name: 'Lend your idle computer to science' })).toBeVisible()
  await expect(page.getByText('What runs:')).toBeVisible()

  // Consent first: a visitor who has not clicked leases nothing and computes nothing.
  await page.waitForTimeout(1500)
  expect(await leasedOrDone(hub)).toBe(0)
  expect(await count(page, 'count-computing')).toBe(0)

  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('backend')).toHaveText(/Running on CPU \(WASM SIMD\) × \d+ worker/)
  // A task shows its progress bar while it runs.
  await expect(page.getByTestId('task').first()).toBeVisible()
  await expect(page.getByTestId('task').first().locator('progress')).toBeVisible()

  await expect.poll(() => count(page, 'count-verified'), { timeout: 90_000 }).toBeGreaterThanOrEqual(3)

  // Stop stops within a second.
  const stopClicked = Date.now()
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(page.getByTestId('task')).toHaveCount(0, { timeout: 1000 })
  expect(Date.now() - stopClicked).toBeLessThan(1000)
  await expect(page.getByRole('button', { name: 'Contribute' })).toBeVisible()
  // A kernel that finishes in the half second Stop gives running units to cancel still delivers its result (nothing
  // computed is lost): it reaches the outbox after the button changed, while the page says "Stopping…". Once it says
  // "Stopped", every unit has settled and no new result can appear.
  await expect(page.getByText('Stopped', { exact: true })).toBeVisible()

  // Once everything finished uploads and verification, credit is exactly the sum of the verified units' 2·m·n·k.
  await expect.poll(() => count(page, 'count-waiting')).toBe(0)
  await expect.poll(() => count(page, 'count-checking')).toBe(0)
  await expect
    .poll(async () => {
      const verified = await count(page, 'count-verified')
      const flops = Number(await page.getByTestId('credit').getAttribute('data-flops'))
      return flops === verified * UNIT_FLOPS && verified >= 3
    })
    .toBe(true)
  expect(await count(page, 'count-rejected')).toBe(0)
  const verified = await count(page, 'count-verified')
  await expect(page.getByTestId('credit')).toHaveText(`${((verified * UNIT_FLOPS) / 1e9).toFixed(3)} GFLOP`)

  // History lists each verified unit with its credit and charts credit over time.
  await page.getByRole('link', { name: 'History' }).click()
  await expect(page.locator('[data-testid="history-row"][data-state="valid"]')).toHaveCount(verified)
  await expect(page.getByTestId('history-row').first()).toContainText('Verified')
  await expect(page.getByTestId('credit-chart')).toHaveAttribute('data-points', String(verified))
  await expect(page.getByTestId('credit-chart').locator('canvas')).toBeVisible()
})

test('the cores slider sets how many workers run', async ({ page, hub }) => {
  await page.goto(hub.url)
  const slider = page.getByRole('slider')
  const max = Number(await slider.getAttribute('max'))
  await slider.fill('1')
  await expect(page.getByTestId('workers')).toHaveText('1')
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('backend')).toHaveText('Running on CPU (WASM SIMD) × 1 worker')
  await expect.poll(() => count(page, 'count-computing')).toBeLessThanOrEqual(1)
  if (max >= 2) {
    await slider.fill('2')
    await expect(page.getByTestId('backend')).toHaveText('Running on CPU (WASM SIMD) × 2 workers')
  }
  // The choice survives a reload.
  await page.getByRole('button', { name: 'Stop' }).click()
  await page.reload()
  await expect(page.getByTestId('workers')).toHaveText(String(Math.min(2, max)))
})
