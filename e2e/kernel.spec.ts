import { count, expect, seedSettings, test } from './hub.ts'

test('Chromium computes units with the WebAssembly SIMD kernel, and the hub verifies and credits them', async ({ page, hub }) => {
  // The compute worker fetches the build it runs: Chromium has relaxed SIMD, so the relaxed-SIMD one, and only it.
  const wasmFetched: string[] = []
  page.on('response', (response) => {
    if (/\.wasm$/.test(new URL(response.url()).pathname) && response.ok()) wasmFetched.push(new URL(response.url()).pathname)
  })
  await page.goto(hub.url)
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('backend')).toHaveText(/^Running on CPU \(WASM SIMD\) × \d+ workers?$/)

  await expect.poll(() => count(page, 'count-verified'), { timeout: 90_000 }).toBeGreaterThanOrEqual(2)
  expect(await count(page, 'count-rejected')).toBe(0)
  expect(wasmFetched.length).toBeGreaterThan(0)
  expect(wasmFetched.every((path) => /\/matmul-relaxed-simd-[\w-]+\.wasm$/.test(path))).toBe(true)

  // Credit arrives for the verified units (2·m·n·k flops each, as the hub counts them).
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect
    .poll(async () => Number(await page.getByTestId('credit').getAttribute('data-flops')), { timeout: 30_000 })
    .toBeGreaterThan(0)
  await page.getByRole('link', { name: 'History' }).click()
  await expect(page.locator('[data-testid="history-row"][data-state="valid"]').first()).toContainText('Verified')
})

test.describe('one large unit', () => {
  // A job of a single 512 x 512 x 4096 unit: nothing else for the second worker to do.
  test.use({ demo: { m: 512, n: 512, k: 4096, tile: 512 } })

  test('a lone unit is split over every allowed core, and the hub verifies the joined product', async ({ page, hub }) => {
    await seedSettings(page, { workers: 2 })
    // A unit computes in a fraction of a second here, too briefly for a locator's polling to be sure to catch its
    // row: the page keeps every "on N cores" it shows.
    await page.addInitScript(() => {
      const seen = ((window as unknown as { coresShown: string[] }).coresShown = [] as string[])
      new MutationObserver(() => {
        for (const span of document.querySelectorAll('[data-testid="task-cores"]')) {
          const text = span.textContent!.trim()
          if (!seen.includes(text)) seen.push(text)
        }
      }).observe(document, { subtree: true, childList: true, characterData: true })
    })
    await page.goto(hub.url)
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect.poll(() => page.evaluate(() => (window as unknown as { coresShown: string[] }).coresShown)).toContain('on 2 cores')
    // The hub seeds a new one-unit demo job when one is done, so more units follow (each split as well).
    await expect.poll(() => count(page, 'count-verified'), { timeout: 60_000 }).toBeGreaterThanOrEqual(1)
    expect(await count(page, 'count-rejected')).toBe(0)
  })
})
