/**
 * The portable prime-counting kernel: the same segmented sieve as assembly/primes.ts in plain JavaScript. It is the
 * fallback where WebAssembly is missing, the reference in tests, and what the hub runs to spot-check blocks.
 */
import type { CpuKernelContext } from '../types.ts'
import { createYielder } from '../yield.ts'
import { blockCount, type PrimesSpec } from './descriptor.ts'

/** Integers sieved per segment: a 256 KB byte array stays in L2. */
export const SEGMENT = 1 << 18

let cached: { limit: number; primes: Uint32Array } | undefined

/** The primes ≤ limit (a sieve of Eratosthenes; the largest list computed so far is kept and sliced). */
export function basePrimes(limit: number): Uint32Array {
  if (cached && cached.limit >= limit) {
    let n = cached.primes.length
    while (n > 0 && cached.primes[n - 1] > limit) n--
    return cached.primes.subarray(0, n)
  }
  const flags = new Uint8Array(Math.max(limit + 1, 2)).fill(1)
  flags[0] = 0
  flags[1] = 0
  for (let i = 2; i * i <= limit; i++) {
    if (!flags[i]) continue
    for (let j = i * i; j <= limit; j += i) flags[j] = 0
  }
  const list: number[] = []
  for (let i = 2; i <= limit; i++) if (flags[i]) list.push(i)
  cached = { limit, primes: Uint32Array.from(list) }
  return cached.primes
}

/** ⌊√(hi − 1)⌋: the largest base prime a sieve of [lo, hi) needs (exact for the integers this workload allows). */
export function baseLimit(hi: number): number {
  if (hi <= 1) return 1
  let r = Math.floor(Math.sqrt(hi - 1))
  while (r * r > hi - 1) r--
  while ((r + 1) * (r + 1) <= hi - 1) r++
  return r
}

/** Counts the primes in [lo, hi) with `primes` (all primes ≤ √(hi − 1)), sieving in `seg` (at least hi − lo long). */
export function countSegmentJs(primes: Uint32Array, lo: number, hi: number, seg: Uint8Array): number {
  if (hi <= lo) return 0
  const n = hi - lo
  seg.fill(1, 0, n)
  for (let i = 0; i < primes.length; i++) {
    const p = primes[i]
    if (p * p >= hi) break
    const start = Math.max(p * p, lo + ((p - (lo % p)) % p))
    for (let j = start - lo; j < n; j += p) seg[j] = 0
  }
  for (let v = lo; v < 2 && v < hi; v++) seg[v - lo] = 0
  let count = 0
  for (let j = 0; j < n; j++) count += seg[j]
  return count
}

/** Counts the primes in [lo, hi) of any length, segment by segment. */
export function countPrimesJs(lo: number, hi: number): number {
  if (hi <= lo) return 0
  const primes = basePrimes(baseLimit(hi))
  const seg = new Uint8Array(Math.min(SEGMENT, hi - lo))
  let count = 0
  for (let s = lo; s < hi; s += SEGMENT) count += countSegmentJs(primes, s, Math.min(hi, s + SEGMENT), seg)
  return count
}

/** Bounds of block `i` of a unit. */
export function blockRange(spec: PrimesSpec, i: number): { lo: number; hi: number } {
  const lo = spec.lo + i * spec.block
  return { lo, hi: Math.min(spec.hi, lo + spec.block) }
}

/**
 * Computes one unit's output words [total, block counts…] into `out` (1 + blockCount words). `countBlock` counts one
 * block's primes; progress is reported and cancellation checked between blocks. Resolves false when cancelled.
 */
export async function countBlocks(
  spec: PrimesSpec,
  out: Uint32Array,
  ctx: CpuKernelContext,
  countBlock: (lo: number, hi: number) => number,
): Promise<boolean> {
  const blocks = blockCount(spec)
  if (out.length !== 1 + blocks) throw new RangeError(`output holds ${out.length} words, the unit needs ${1 + blocks}`)
  const yielder = createYielder()
  let sinceYield = 0
  // Blocks before `from` were counted before a checkpoint; their counts are in `out` already.
  const from = Math.min(blocks, Math.max(0, ctx.resumeAt ?? 0))
  if (from > 0) ctx.onProgress(from / blocks)
  try {
    for (let i = from; i < blocks; i++) {
      if (ctx.isCancelled()) return false
      const { lo, hi } = blockRange(spec, i)
      out[1 + i] = countBlock(lo, hi)
      ctx.onProgress((i + 1) / blocks)
      ctx.onSlice?.(i + 1)
      // Yield about every 2^20 integers (a few ms), so the worker sees cancel messages between segments.
      sinceYield += hi - lo
      if (sinceYield >= 1 << 20 && i + 1 < blocks) {
        sinceYield = 0
        await yielder.yieldNow()
      }
    }
  } finally {
    yielder.close()
  }
  let total = 0
  for (let i = 0; i < blocks; i++) total += out[1 + i]
  out[0] = total
  return true
}

/** The JS kernel for one unit: writes [total, block counts…] to `out`. Resolves false when cancelled. */
export async function primesCpu(spec: PrimesSpec, out: Uint32Array, ctx: CpuKernelContext): Promise<boolean> {
  const primes = basePrimes(baseLimit(spec.hi))
  const seg = new Uint8Array(Math.min(SEGMENT, spec.block))
  ctx.onInputsCopied?.()
  return countBlocks(spec, out, ctx, (lo, hi) => {
    let count = 0
    for (let s = lo; s < hi; s += SEGMENT) count += countSegmentJs(primes, s, Math.min(hi, s + SEGMENT), seg)
    return count
  })
}
