/** The app's long-lived state, created once per page. Components import these, never Workers or IndexedDB. */
import { Contributor } from './contribute/index.ts'
import { Governor } from './governor/index.ts'
import { History } from './history.svelte.ts'
import { PeerNetwork } from './p2p/network.svelte.ts'
import { AppShell } from './pwa/app-shell.svelte.ts'
import { settings } from './settings.svelte.ts'

export { settings }
export { formatCredit } from './format.ts'
export const peers = new PeerNetwork(settings.cacheMB * 1024 * 1024)
export const contributor = new Contributor(settings, peers)
/** Decides, second by second, how many workers compute and at what duty (idle, CPU pressure, battery). */
export const governor = new Governor(settings, (d) => contributor.throttle(d.workers, d.duty))
governor.start()
export const history = new History()
export const shell = new AppShell()
/** This build's id, shown in the footer. */
export const BUILD_ID = __MESHWORK_BUILD__

/** Formats a byte count for people (KB, MB, GB; powers of 1000). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1000
  let i = 0
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000
    i++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[i]}`
}

