/**
 * The hub's security headers in a real Chromium: the app runs whole under its Content-Security-Policy (every page,
 * contributing with the WebAssembly kernel and the peer network, the Wallet page), with no violation reported, while
 * the same policy refuses an inline script (the positive control).
 */
import { expect, test } from './hub.ts'

test('the app runs under its Content-Security-Policy without a violation, and the policy refuses inline scripts', async ({ page, hub }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { violations: string[] }
    w.violations = []
    document.addEventListener('securitypolicyviolation', (e) => w.violations.push(`${e.effectiveDirective} ${e.blockedURI}${e.blockedURI === "eval" ? ` at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}` : ""}`))
  })
  const response = await page.goto(hub.url)
  expect(response!.headers()['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'")
  expect(response!.headers()['x-frame-options']).toBe('DENY')

  await page.getByRole('button', { name: 'Contribute' }).click()
  // The WebAssembly kernel compiles in the workers (needs 'wasm-unsafe-eval') and units are verified.
  await expect(page.getByTestId('backend')).toHaveText(/WASM SIMD/)
  await expect.poll(async () => Number(await page.getByTestId('count-verified').textContent()), { timeout: 60_000 }).toBeGreaterThanOrEqual(1)
  // The peer network connects to the hub's relay over WebSockets on its other port.
  await page.getByRole('link', { name: 'Network' }).click()
  await expect(page.getByTestId('peer-state')).toHaveAttribute('data-state', 'on', { timeout: 20_000 })
  for (const name of ['Wallet', 'History', 'Settings', 'Contribute']) {
    await page.getByRole('link', { name }).click()
    await expect(page.getByRole('link', { name })).toHaveAttribute('aria-current', 'page')
  }
  expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([])

  // Positive control: an inline script is refused and reported.
  await page.evaluate(() => document.body.append(Object.assign(document.createElement('script'), { textContent: 'window.ran = true' })))
  await expect.poll(() => page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual(['script-src-elem inline'])
  expect(await page.evaluate(() => (window as unknown as { ran?: boolean }).ran)).toBeUndefined()
})
