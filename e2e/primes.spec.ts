/**
 * The second workload in the browser: an owner creates a primes job through the API, Chromium leases and counts its
 * units with the WebAssembly sieve in the compute workers, and the hub spot-checks and credits them.
 */
import { count, expect, test } from './hub.ts'

test.use({ hubEnv: { MESHWORK_DEMO: 'off' } })

test('Chromium counts a primes job that the hub spot-checks, and the history says so', async ({ page, hub }) => {
  const created = await hub.owner('/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workload: 'primes', label: 'e2e primes', params: { lo: 0, hi: 10_000_000, unitSpan: 5_000_000, block: 1_000_000 } }),
  })
  expect(created.status).toBe(201)
  const job = (await created.json()) as { id: string }

  await page.goto(hub.url)
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect
    .poll(async () => ((await (await hub.owner(`/jobs/${job.id}`)).json()) as { state: string }).state, { timeout: 60_000 })
    .toBe('done')
  const output = new Uint8Array(await (await hub.owner(`/jobs/${job.id}/output`)).arrayBuffer())
  expect(new DataView(output.buffer).getBigUint64(0, true)).toBe(664579n)
  await expect.poll(() => count(page, 'count-verified')).toBe(2)
  expect(await count(page, 'count-rejected')).toBe(0)
  await page.getByRole('button', { name: 'Stop' }).click()

  await page.getByRole('link', { name: 'History' }).click()
  const rows = page.locator('[data-testid="history-row"][data-state="valid"]')
  await expect(rows).toHaveCount(2)
  await expect(rows.first()).toContainText('spot-checked: recomputed blocks')
})
