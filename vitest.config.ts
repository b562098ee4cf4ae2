import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Playwright specs live in e2e/ and run under `playwright test`, not vitest.
    include: ['{protocol,workloads,server,src,workers,bench}/**/*.test.ts'],
    environment: 'node',
    // libp2p needs Promise.withResolvers, which Node 20 lacks.
    setupFiles: ['./server/polyfills.ts'],
    testTimeout: 30_000,
  },
})
