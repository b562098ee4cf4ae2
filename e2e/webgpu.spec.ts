import { count, expect, seedSettings, test } from './hub.ts'

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

test.describe('sizes that are not whole tiles', () => {
  // Units of 128 x 128 and edge units of 44 rows or columns, k = 333 (not a multiple of the k step): the padded paths
  // of every configuration (128 x 128 tiles and 32 x 32 tiles) must give products the hub verifies.
  test.use({ demo: { m: 300, n: 172, k: 333, tile: 128 } })

  test('the WGSL kernel pads and computes edge units exactly enough for verification', async ({ page, hub }) => {
    await seedSettings(page, { backend: 'webgpu' })
    await page.goto(hub.url)
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect(page.getByTestId('backend')).toHaveText(/WebGPU/)
    // 3 x 2 units: 128 and 44 rows by 128 and 44 columns.
    await expect.poll(() => count(page, 'count-verified'), { timeout: 100_000 }).toBe(6)
    expect(await count(page, 'count-rejected')).toBe(0)
    await page.getByRole('link', { name: 'History' }).click()
    await expect(page.locator('[data-testid="history-row"][data-state="valid"]').first()).toContainText('webgpu')
  })
})

test.describe('a lost GPU device', () => {
  test.use({ demo: { m: 512, n: 512, k: 1024, tile: 256 } })

  /**
   * Loses GPU devices for real: GPUDevice.destroy() inside the compute worker, as a driver reset would. A wrapper of
   * requestDevice, installed in each worker as it starts, destroys the first `lose` devices it hands out once their
   * first dispatch is submitted.
   */
  async function loseDevices(page: import('@playwright/test').Page, lose: number): Promise<void> {
    page.on('worker', (worker) => {
      void worker
        .evaluate((count) => {
          const scope = globalThis as unknown as { __lost?: number }
          scope.__lost = 0
          const request = GPUAdapter.prototype.requestDevice
          GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor) {
            const device = await request.call(this, descriptor)
            if (scope.__lost! < count) {
              scope.__lost! += 1
              const submit = device.queue.submit.bind(device.queue)
              device.queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
                submit(buffers)
                device.destroy()
              }
            }
            return device
          }
        }, lose)
        .catch(() => undefined)
    })
  }

  test('lost once: the device is recreated and the unit still completes on the GPU', async ({ page, hub }) => {
    await seedSettings(page, { backend: 'webgpu' })
    await loseDevices(page, 1)
    await page.goto(hub.url)
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect.poll(() => count(page, 'count-verified'), { timeout: 100_000 }).toBeGreaterThanOrEqual(2)
    // A device really was lost in the compute worker.
    const lost = await Promise.all(page.workers().map((w) => w.evaluate(() => (globalThis as unknown as { __lost?: number }).__lost ?? 0).catch(() => 0)))
    expect(Math.max(0, ...lost)).toBe(1)
    await expect(page.getByTestId('backend')).toHaveText(/WebGPU/)
    await expect(page.getByRole('alert')).toHaveCount(0)
    await page.getByRole('link', { name: 'History' }).click()
    await expect(page.locator('[data-testid="history-row"][data-state="valid"]').first()).toContainText('webgpu')
  })

  test('lost twice: the unit falls back to the CPU, contributing goes on there, and the page says why', async ({ page, hub }) => {
    await seedSettings(page, { backend: 'webgpu' })
    await loseDevices(page, 2)
    await page.goto(hub.url)
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect(page.getByRole('alert')).toContainText(/The GPU failed on unit .*the GPU device was lost.*contributing goes on on the CPU/)
    await expect(page.getByTestId('backend')).toHaveText(/CPU/)
    await expect.poll(() => count(page, 'count-verified'), { timeout: 100_000 }).toBeGreaterThanOrEqual(2)
    expect(await count(page, 'count-rejected')).toBe(0)
  })
})
