/**
 * Rate limits on the volunteer endpoints: a token bucket per network (IPv4 /24, IPv6 /48, loopback; see
 * receipts/network.ts) for every public and volunteer request, and one per device for signed requests (counted only
 * after the signature checked out, so nobody can spend another device's allowance). Past a limit the hub answers 429
 * with Retry-After and a message naming the limit. Buckets idle for a minute are forgotten.
 */
import { MeshworkError } from '../../protocol/errors.ts'

export interface RateLimit {
  /** Sustained requests per second; 0 turns the limit off. */
  perSecond: number
  /** Requests allowed at once above the sustained rate. */
  burst: number
}

export interface RateLimits {
  device: RateLimit
  network: RateLimit
}

/** Defaults: a browser contributing with every core makes a few requests a second; a classroom behind one NAT, more. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  device: { perSecond: 20, burst: 60 },
  network: { perSecond: 300, burst: 900 },
}

interface Bucket {
  tokens: number
  at: number
}

/** Token buckets for one kind of key. */
export class RateLimiter {
  readonly #limit: RateLimit
  readonly #what: string
  readonly #buckets = new Map<string, Bucket>()
  #swept = 0

  readonly #onRefuse: (() => void) | undefined

  /**
   * @param what names the limit in the 429's message ("this device", "this network").
   * @param onRefuse called on each refusal (the hub's metrics).
   */
  constructor(limit: RateLimit, what: string, onRefuse?: () => void) {
    this.#limit = limit
    this.#what = what
    this.#onRefuse = onRefuse
  }

  /** Takes one request from `key`'s bucket, or throws a rate_limited MeshworkError with the wait. */
  take(key: string, now: number): void {
    const { perSecond, burst } = this.#limit
    if (perSecond <= 0) return
    this.#sweep(now)
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond)
    bucket.at = now
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return
    }
    this.#onRefuse?.()
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) / perSecond) * 1000)
    throw new MeshworkError(`Too many requests from ${this.#what}: at most ${perSecond} a second (bursts of ${burst}). Retry after ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`, {
      code: 'rate_limited',
      transient: true,
      retryAfterMs,
    })
  }

  /** Buckets tracked now (for tests and metrics). */
  get size(): number {
    return this.#buckets.size
  }

  #sweep(now: number): void {
    if (now - this.#swept < 60_000) return
    this.#swept = now
    for (const [key, bucket] of this.#buckets) if (now - bucket.at > 60_000) this.#buckets.delete(key)
  }
}
