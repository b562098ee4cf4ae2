/**
 * Checkpoints of long units: a unit interrupted by a reload resumes where its last checkpoint left it, its progress
 * bar never goes back to 0 %, and the product it finishes passes the hub's verification of the whole matrix (so the
 * rows computed before the reload, read back from IndexedDB, are right).
 */
import type { Page } from '@playwright/test'
import { count, expect, seedSettings, test } from './hub.ts'

// One unit of 2·512·512·8192 flops (4.3 GFLOP): at a 5 % duty it computes for several seconds.
test.use({ demo: { m: 512, n: 512, k: 8192, tile: 512 } })

/**
 * The checkpoint IndexedDB holds for `unitId`, or for the first unit when none is named (read straight from the
 * database, as a reload would find it).
 */
function savedCheckpoint(page: Page, unitId?: string) {
  return page.evaluate(async (unitId) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('meshwork')
      open.onsuccess = () => resolve(open.result)
      open.onerror = () => reject(open.error)
    })
    if (!db.objectStoreNames.contains('checkpoints')) return undefined
    const all = await new Promise<{ unitId: string; done: number; total: number }[]>((resolve) => {
      const request = db.transaction('checkpoints').objectStore('checkpoints').getAll()
      request.onsuccess = () => resolve(request.result)
    })
    db.close()
    const found = unitId ? all.find((c) => c.unitId === unitId) : all[0]
    return found && { unitId: found.unitId, fraction: found.done / found.total }
  }, unitId)
}

test('a unit interrupted by a reload resumes from its checkpoint; its bar does not restart at 0 % and the hub verifies it', async ({ page, hub }) => {
  test.setTimeout(90_000)
  await seedSettings(page, { workers: 1, duty: 5 })
  await page.addInitScript(() => {
    // Every value each task's progress bar shows, sampled every few milliseconds, from the moment the page loads.
    const w = window as unknown as { bars: Record<string, number[]> }
    w.bars = {}
    setInterval(() => {
      for (const bar of document.querySelectorAll<HTMLProgressElement>('[data-testid="task"] progress')) {
        const unit = bar.getAttribute('aria-label') ?? ''
        ;(w.bars[unit] ??= []).push(bar.value)
      }
    }, 5)
  })
  await page.goto(hub.url)
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.locator('[data-testid="task"][data-phase="computing"]')).toHaveCount(1)

  // Wait for a checkpoint past 10 %, then reload in the middle of the unit.
  // (Polled every 50 ms: the unit's checkpoint lives for a few seconds, between its first save and its end.)
  let saved: Awaited<ReturnType<typeof savedCheckpoint>>
  const deadline = Date.now() + 30_000
  while (!(((saved = await savedCheckpoint(page))?.fraction ?? 0) > 0.1) && Date.now() < deadline) await page.waitForTimeout(50)
  expect(saved?.fraction, 'a checkpoint past 10 %').toBeGreaterThan(0.1)
  expect(saved!.fraction).toBeLessThan(1)
  await page.reload()
  await page.getByRole('button', { name: 'Contribute' }).click()

  // The same unit, from the lease buffer, resumes: its bar starts at the checkpoint, never lower.
  const label = `Progress of unit ${saved!.unitId}`
  await expect(page.getByLabel(label)).toBeVisible()
  // Its job (one unit) is done: the hub verified the resumed unit's whole product. (The hub then seeds the next
  // one-unit demo job, so the page's verified count goes on growing.)
  const jobId = saved!.unitId.replace(/-\d+$/, '')
  await expect.poll(async () => ((await (await hub.owner(`/jobs/${jobId}`)).json()) as { state: string }).state, { timeout: 60_000 }).toBe('done')
  expect(await count(page, 'count-rejected')).toBe(0)
  const bars = await page.evaluate(() => (window as unknown as { bars: Record<string, number[]> }).bars)
  const shown = bars[label] ?? []
  expect(shown.length).toBeGreaterThan(0)
  expect(Math.min(...shown), 'lowest value the bar showed after the reload').toBeGreaterThanOrEqual(saved!.fraction - 1e-9)
  // The checkpoint is gone with the finished unit (the hub's next demo job may be saving its own by now).
  expect(await savedCheckpoint(page, saved!.unitId)).toBeUndefined()
})
