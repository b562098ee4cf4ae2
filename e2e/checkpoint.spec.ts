/**
 * Checkpoints of long units: a unit interrupted by a reload resumes where its last checkpoint left it, its progress
 * bar never goes back to 0 %, and the product it finishes passes the hub's verification of the whole matrix (so the
 * rows computed before the reload, read back from IndexedDB, are right).
 */
import type { Page } from '@playwright/test'
import { count, expect, test } from './hub.ts'

// One unit of 2·512·512·8192 flops (4.3 GFLOP): at a 5 % duty it computes for several seconds.
test.use({ demo: { m: 512, n: 512, k: 8192, tile: 512 } })

/** The checkpoint IndexedDB holds for a unit (read straight from the database, as a reload would find it). */
function savedCheckpoint(page: Page) {
  return page.evaluate(async () => {
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
    return all[0] && { unitId: all[0].unitId, fraction: all[0].done / all[0].total }
  })
}

test('a unit interrupted by a reload resumes from its checkpoint; its bar does not restart at 0 % and the hub verifies it', async ({ page, hub }) => {
  test.setTimeout(90_000)
  await page.addInitScript(() => {
    localStorage.setItem(
      'meshwork.settings.v1',
      JSON.stringify({ workers: 1, backend: 'cpu', cacheMB: 512, peers: false, governor: { idleSeconds: 600, activeWorkers: 1, activeDutyPercent: 5, idleDutyPercent: 5, batteryMinPercent: null } }),
    )
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
  while (!((saved = await savedCheckpoint(page))?.fraction ?? 0 > 0.1) && Date.now() < deadline) await page.waitForTimeout(50)
  expect(saved?.fraction, 'a checkpoint past 10 %').toBeGreaterThan(0.1)
  expect(saved!.fraction).toBeLessThan(1)
  await page.reload()
  await page.getByRole('button', { name: 'Contribute' }).click()

  // The same unit, from the lease buffer, resumes: its bar starts at the checkpoint, never lower.
  const label = `Progress of unit ${saved!.unitId}`
  await expect(page.getByLabel(label)).toBeVisible()
  await expect.poll(() => count(page, 'count-verified'), { timeout: 60_000 }).toBe(1)
  expect(await count(page, 'count-rejected')).toBe(0)
  const bars = await page.evaluate(() => (window as unknown as { bars: Record<string, number[]> }).bars)
  const shown = bars[label] ?? []
  expect(shown.length).toBeGreaterThan(0)
  expect(Math.min(...shown), 'lowest value the bar showed after the reload').toBeGreaterThanOrEqual(saved!.fraction - 1e-9)
  // Resumed, not recomputed: the checkpoint is gone with the finished unit.
  expect(await savedCheckpoint(page)).toBeUndefined()
})
