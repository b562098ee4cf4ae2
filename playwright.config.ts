import { defineConfig } from '@playwright/test'

/** Debian's Chromium (see ENVIRONMENT.md); `npx playwright install` cannot download browsers here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  // Each test starts its own hub and computes real units: on two cores, running them one at a time keeps them honest.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: CHROMIUM, args: ['--disable-quic', '--enable-unsafe-webgpu', '--allow-loopback-in-peer-connection'] },
    trace: 'retain-on-failure',
  },
})
