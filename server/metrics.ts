/**
 * The hub's Prometheus metrics (prom-client), served at `/metrics` to the job owner's token: units by state, leases,
 * results received and their outcome, verification verdicts, credit granted, requests refused by the rate limits, the
 * HTTP API's latency per route, and the store's latency per operation. The store's traffic is observed by wrapping it
 * (`instrumentStore`), so no call site changes and a Postgres store is measured the same way. One registry per hub:
 * tests run several hubs in one process.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { LedgerAppend, ReceiptOutcome, ResultInsertOutcome, ResultVerdict, Store, UnitRecord, ValidatorPass } from './store/types.ts'

export interface HubPrometheus {
  registry: Registry
  rateLimited: Counter<'limit'>
  httpDuration: Histogram<'method' | 'route' | 'status'>
}

/** Seconds buckets from 0.5 ms to 5 s: store calls are sub-millisecond, HTTP calls milliseconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** Creates the registry and its metrics; `store` answers the unit-state gauge at each scrape. */
export function createPrometheus(store: Pick<Store, 'unitStates'>): HubPrometheus & { observeStore: StoreObserver } {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'meshwork_' })
  new Gauge({
    name: 'meshwork_units',
    help: 'Units by state (unsent, leased, returned, done).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const states = await store.unitStates()
      for (const [state, n] of Object.entries(states)) this.set({ state }, n)
    },
  })
  const leased = new Counter({ name: 'meshwork_units_leased_total', help: 'Units handed out in leases.', registers: [registry] })
  const results = new Counter({
    name: 'meshwork_results_received_total',
    help: 'Results received, by outcome (accepted, duplicate, rejected).',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const verdicts = new Counter({ name: 'meshwork_verifications_total', help: 'Verification verdicts (valid, invalid).', labelNames: ['verdict'], registers: [registry] })
  const credit = new Counter({ name: 'meshwork_credit_granted_flops_total', help: 'Credit written to the ledger, in flops, by kind.', labelNames: ['kind'], registers: [registry] })
  const rateLimited = new Counter({ name: 'meshwork_rate_limited_total', help: 'Requests refused with 429, by limit (device, network).', labelNames: ['limit'], registers: [registry] })
  const storeDuration = new Histogram({
    name: 'meshwork_store_operation_seconds',
    help: 'Store call latency by operation.',
    labelNames: ['operation', 'outcome'],
    buckets: BUCKETS,
    registers: [registry],
  })
  const httpDuration = new Histogram({
    name: 'meshwork_http_request_seconds',
    help: 'API request latency by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS,
    registers: [registry],
  })

  const observeStore: StoreObserver = (operation, args, result, seconds, failed) => {
    storeDuration.observe({ operation, outcome: failed ? 'error' : 'ok' }, seconds)
    if (failed) return
    if (operation === 'leaseUnits') leased.inc((result as UnitRecord[]).length)
    else if (operation === 'insertResults') for (const o of result as ResultInsertOutcome[]) results.inc({ outcome: o.kind })
    else if (operation === 'recordVerdicts') for (const v of args[0] as ResultVerdict[]) verdicts.inc({ verdict: v.state })
    else if (operation === 'validatePending') for (const v of (result as ValidatorPass | undefined)?.verdicts ?? []) verdicts.inc({ verdict: v.state })
    else if (operation === 'appendLedger') {
      const flops = (args[0] as LedgerAppend[]).reduce((sum, e) => sum + e.amountFlops, 0)
      if (flops > 0) credit.inc({ kind: 'compute' }, flops)
    } else if (operation === 'recordReceipts') {
      for (const o of result as ReceiptOutcome[]) if (o.kind === 'credited') credit.inc({ kind: 'bandwidth' }, o.creditFlops)
    }
  }
  return { registry, rateLimited, httpDuration, observeStore }
}

/** Sees each store call: its name, arguments, result, duration and whether it failed. */
export type StoreObserver = (operation: string, args: unknown[], result: unknown, seconds: number, failed: boolean) => void

/** The store with every method call timed and reported to `observe`. */
export function instrumentStore<S extends Store>(store: S, observe: StoreObserver): S {
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      // Methods run on the store itself (its private fields are not the proxy's).
      if (typeof property !== 'string' || property === 'close') return (value as (...a: unknown[]) => unknown).bind(target)
      return (...args: unknown[]) => {
        const started = process.hrtime.bigint()
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9
        const out = (value as (...a: unknown[]) => unknown).apply(target, args)
        if (!(out instanceof Promise)) return out
        return out.then(
          (result) => {
            observe(property, args, result, seconds(), false)
            return result
          },
          (error: unknown) => {
            observe(property, args, undefined, seconds(), true)
            throw error
          },
        )
      }
    },
  })
}
