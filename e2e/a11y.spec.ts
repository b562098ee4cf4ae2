/**
 * Accessibility: axe-core (run inside the page, as its own docs recommend for any test runner) on every main page of
 * the app and on the partner widget finds no serious or critical violation.
 */
import { createRequire } from 'node:module'
import type { Page } from '@playwright/test'
import { expect, test } from './hub.ts'

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: string[] }[]
}

async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Violation[] }> } }).axe
    return (await axe.run(document, { resultTypes: ['violations'] })).violations
  })
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
}

const PAGES = ['contribute', 'wallet', 'network', 'history', 'settings']

// axe-core is injected as an inline script, which the hub's Content-Security-Policy refuses (as it should: see
// security.spec.ts): these tests let Playwright bypass it.
test.use({ bypassCSP: true })

test('the app\'s pages have no serious or critical accessibility violations', async ({ page, hub }) => {
  for (const name of PAGES) {
    await page.goto(`${hub.url}/#/${name}`)
    await expect(page.getByRole('link', { name: name[0].toUpperCase() + name.slice(1) })).toHaveAttribute('aria-current', 'page')
    await expect(page.locator('main h2, main .intro h2, main section').first()).toBeVisible()
    expect(await seriousViolations(page), `#/${name}`).toEqual([])
  }
  // And while contributing, with tasks and progress bars on screen.
  await page.goto(hub.url)
  await page.getByRole('button', { name: 'Contribute' }).click()
  await expect(page.getByTestId('task').first()).toBeVisible()
  expect(await seriousViolations(page), 'contributing').toEqual([])

  // The check itself works: an unlabelled button is reported.
  await page.evaluate(() => document.querySelector('main')!.append(Object.assign(document.createElement('button'), { id: 'unlabelled' })))
  expect(await seriousViolations(page)).toEqual([expect.stringMatching(/^critical button-name: .*#unlabelled/)])
})

test('the partner widget has no serious or critical accessibility violations', async ({ page, hub }) => {
  await page.goto(`${hub.url}/embed.html?partner=example-news`)
  await expect(page.getByRole('button', { name: /start/i })).toBeVisible()
  expect(await seriousViolations(page)).toEqual([])
})
