import { count, expect, test } from './hub.ts'

test('finished results survive a reload in the outbox and upload on the next visit', async ({ page, hub }) => {
  await page.goto(hub.url)
  // Uploads fail (the hub is unreachable for results only), so finished results pile up in IndexedDB.
  await page.route('**/api/v1/results**', (route) => route.abort('connectionrefused'))
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect.poll(() => count(page, 'count-waiting'), { timeout: 90_000 }).toBeGreaterThanOrEqual(2)
  const waiting = await count(page, 'count-waiting')
  expect(await count(page, 'count-verified')).toBe(0)

  // Reload mid-contribution: nothing computing survives, but every finished result does.
  await page.unroute('**/api/v1/results**')
  await page.reload()
  await expect(page.getByRole('button', { name: 'Contribute' })).toBeVisible()
  // Without pressing Contribute, the outbox drains and the hub verifies what was waiting.
  await expect.poll(() => count(page, 'count-waiting')).toBe(0)
  await expect.poll(() => count(page, 'count-verified')).toBeGreaterThanOrEqual(waiting)
  expect(await count(page, 'count-computing')).toBe(0)
})

test('offline while computing: results wait in the outbox and are verified when the network returns', async ({ page, context, hub }) => {
  await page.goto(hub.url)
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('task').first()).toBeVisible()
  // Go offline as soon as the first unit's inputs have arrived, so leased work keeps computing without a network.
  await expect(page.locator('[data-testid="task"][data-phase="computing"]').first()).toBeVisible({ timeout: 60_000 })
  await context.setOffline(true)
  await expect(page.getByRole('status').filter({ hasText: 'Offline' }).first()).toBeVisible()
  await expect.poll(() => count(page, 'count-waiting'), { timeout: 60_000 }).toBeGreaterThanOrEqual(1)
  const verifiedOffline = await count(page, 'count-verified')
  const waiting = await count(page, 'count-waiting')

  await context.setOffline(false)
  await expect.poll(() => count(page, 'count-waiting')).toBe(0)
  await expect.poll(() => count(page, 'count-verified')).toBeGreaterThanOrEqual(verifiedOffline + waiting)
})
