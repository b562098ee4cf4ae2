import { existsSync } from 'node:fs'
import { CHROMIUM } from '../playwright.config.ts'

/** Fails the run at once, with what to do, when the browser or the built app is missing: never a silent skip. */
export default function globalSetup(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary.`,
    )
  }
  if (!existsSync('dist/index.html')) throw new Error('The app is not built: run `npm run build` before `npm run test:e2e`.')
}
