import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Playwright specs live in e2e/ and run under `playwright test`, not vitest.
    include: ['{protocol,workloads,server,src,workers,bench}/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
  },
})
