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

test('offline: finished results wait in the outbox, the page says so, and they are verified when the network returns', async ({ page, context, hub }) => {
  await page.goto(hub.url)
  // A unit computes in tens of milliseconds: left alone, the page could compute and upload the whole job before the
  // network goes (once 8 of 9 units were verified first). Uploads are held until the network is gone, then fail as
  // offline ones do.
  let networkGone!: () => void
  const gone = new Promise<void>((resolve) => (networkGone = resolve))
  await page.route('**/api/v1/results**', async (route) => {
    await gone
    await route.abort('internetdisconnected')
  })
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect.poll(() => count(page, 'count-waiting'), { timeout: 60_000 }).toBeGreaterThanOrEqual(1)
  await context.setOffline(true)
  networkGone()
  await expect(page.getByRole('status').filter({ hasText: 'Offline' }).first()).toBeVisible()
  // Nothing reached the hub; everything finished waits (leased units still computing join it).
  await expect.poll(() => count(page, 'count-computing')).toBe(0)
  expect(await count(page, 'count-verified')).toBe(0)
  const waiting = await count(page, 'count-waiting')
  expect(waiting).toBeGreaterThanOrEqual(1)

  await page.unroute('**/api/v1/results**')
  await context.setOffline(false)
  await expect.poll(() => count(page, 'count-waiting')).toBe(0)
  await expect.poll(() => count(page, 'count-verified')).toBeGreaterThanOrEqual(waiting)
})
