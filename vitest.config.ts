import { defineConfig } from 'vitest/config'

/** Playwright specs live in e2e/ and run under `playwright test`, not vitest. */
const ALL = ['{protocol,workloads,server,src,workers,bench,contracts,widget}/**/*.test.ts']
/** Test files that load the machine on their own. */
const HEAVY = ['server/load.test.ts', 'server/crash.test.ts']

export default defineConfig({
  test: {
    // Playwright specs live in e2e/ and run under `playwright test`, not vitest.
    environment: 'node',
    // libp2p needs Promise.withResolvers, which Node 20 lacks.
    setupFiles: ['./server/polyfills.ts'],
    // Builds contracts/generated/ (ABI and bytecode from solc), which the contract tests import, and the WebAssembly
    // kernels (workloads/*/generated/*.wasm), which the kernel and worker runtime tests load.
    // The last one starts a throwaway Postgres cluster for the run (the store tests run on SQLite and on Postgres).
    globalSetup: ['./contracts/global-setup.ts', './scripts/build-wasm.ts', './server/postgres-global-setup.ts'],
    // The hub's peer tests dial it over WebSockets from Node, which needs the global WebSocket: behind a flag on
    // Node 20, built in from Node 22 (where the flag is left out).
    execArgv: typeof globalThis.WebSocket === 'undefined' ? ['--experimental-websocket'] : [],
    testTimeout: 30_000,
    // The load and crash tests drive a hub with hundreds of simulated volunteers: they run after every other file and
    // one at a time, so the machine's two cores are theirs (beside others, loopback connections time out).
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: HEAVY, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'load', include: HEAVY, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
})
