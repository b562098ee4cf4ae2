/** The app's long-lived state, created once per page. Components import these, never Workers or IndexedDB. */
import { Contributor } from './contribute/index.ts'
import { History } from './history.svelte.ts'
import { settings } from './settings.svelte.ts'

export { settings }
export const contributor = new Contributor(settings)
export const history = new History()

/** Formats flops as GFLOP (the credit unit) with enough digits to show every unit's share. */
export function formatCredit(flops: number): string {
  return `${(flops / 1e9).toLocaleString('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 })} GFLOP`
}
