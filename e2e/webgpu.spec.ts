import { count, expect, test } from './hub.ts'

test('the WGSL kernel on SwiftShader computes products that pass verification', async ({ page, hub }) => {
  await page.goto(hub.url)
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter()
    return a ? { fallback: (a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? null } : null
  })
  expect(adapter, 'Chromium must expose a WebGPU adapter (run with --enable-unsafe-webgpu)').not.toBeNull()

  // Automatic mode treats the software adapter as "no GPU"…
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('backend')).toHaveText(/CPU/)
  await page.getByRole('button', { name: 'Stop' }).click()

  // …and the setting forces WebGPU so the WGSL kernel runs on it.
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByLabel('WebGPU, even on a software adapter (for testing)').check()
  await page.getByRole('link', { name: 'Contribute' }).click()
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('backend')).toHaveText(/Running on WebGPU: .*\(software\)/)
  await expect.poll(() => count(page, 'count-verified'), { timeout: 100_000 }).toBeGreaterThanOrEqual(2)
  expect(await count(page, 'count-rejected')).toBe(0)
  await expect(page.getByRole('alert')).toHaveCount(0)

  await page.getByRole('link', { name: 'History' }).click()
  const rows = page.locator('[data-testid="history-row"][data-state="valid"]')
  await expect(rows.first()).toContainText('webgpu')
})
