/**
 * The second workload in the browser: an owner creates a primes job through the API, and two Chromium volunteers
 * (separate contexts: separate device keys and storage) count its units with the WebAssembly sieve in their compute
 * workers. Primes results are replicated: every unit goes to both, the hub spot-checks each count and credits them when
 * the two agree.
 */
import { count, expect, setPressure, test } from './hub.ts'

// No known-answer units and no trusted devices: each unit goes to both volunteers.
test.use({ hubEnv: { MESHWORK_DEMO: 'off', MESHWORK_SPOT_CHECKS: '0', MESHWORK_TRUST_AFTER: '0' } })

test('two Chromium volunteers count a primes job, their replicas agree, and the history says so', async ({ browser, page, hub }) => {
  const created = await hub.owner('/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workload: 'primes', label: 'e2e primes', params: { lo: 0, hi: 10_000_000, unitSpan: 5_000_000, block: 1_000_000 } }),
  })
  expect(created.status).toBe(201)
  const job = (await created.json()) as { id: string }

  const context = await browser.newContext()
  const other = await context.newPage()
  await setPressure(other, 'nominal')
  for (const p of [page, other]) {
    await p.goto(hub.url)
    await p.getByRole('button', { name: 'Contribute' }).click()
  }
  await expect
    .poll(async () => ((await (await hub.owner(`/jobs/${job.id}`)).json()) as { state: string }).state, { timeout: 60_000 })
    .toBe('done')
  const output = new Uint8Array(await (await hub.owner(`/jobs/${job.id}/output`)).arrayBuffer())
  expect(new DataView(output.buffer).getBigUint64(0, true)).toBe(664579n)
  for (const p of [page, other]) {
    await expect.poll(() => count(p, 'count-verified')).toBe(2)
    expect(await count(p, 'count-rejected')).toBe(0)
    await p.getByRole('button', { name: 'Stop' }).click()
  }

  await page.getByRole('link', { name: 'History' }).click()
  const rows = page.locator('[data-testid="history-row"][data-state="valid"]')
  await expect(rows).toHaveCount(2)
  await expect(rows.first()).toContainText('2 independent volunteers returned the same answer')
  await context.close()
})
