// Vitest globalSetup: tests import contracts/generated/, which is built output and not committed, so build it before
// any test file loads (a no-op when it is up to date).
import { build } from './build.ts'

/** Builds the contract modules once per vitest run. */
export function setup(): void {
  build()
}
