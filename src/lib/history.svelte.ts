/** The History view's data: this device's recent results and its credit over time, from the hub's records. */
import type { CreditHistory, VolunteerResult } from '../../protocol/index.ts'
import type { HubClient } from './hub/client.ts'

export class History {
  #results = $state<VolunteerResult[]>([])
  #credit = $state<CreditHistory['entries']>([])
  #error = $state('')
  #loaded = $state(false)

  get results() { return this.#results }
  /** Ledger entries, oldest first. */
  get credit() { return this.#credit }
  get error() { return this.#error }
  get loaded() { return this.#loaded }

  /** Cumulative credit (GFLOP) at each ledger entry's time (seconds), ready for a chart. */
  get series(): [number[], number[]] {
    const xs: number[] = []
    const ys: number[] = []
    let total = 0
    for (const entry of this.#credit) {
      total += entry.creditFlops
      xs.push(entry.at / 1000)
      ys.push(total / 1e9)
    }
    return [xs, ys]
  }

  /** Loads both lists; keeps the last good data when the hub cannot be reached. */
  async load(client: HubClient | undefined): Promise<void> {
    if (!client) {
      this.#loaded = true
      return
    }
    try {
      const [results, credit] = await Promise.all([client.results(100), client.credit()])
      this.#results = results.results
      this.#credit = credit.entries
      this.#error = ''
    } catch (error) {
      this.#error = `Could not load history: ${error instanceof Error ? error.message : String(error)}`
    } finally {
      this.#loaded = true
    }
  }
}
