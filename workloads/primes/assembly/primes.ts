// @ts-nocheck: this file is AssemblyScript, not TypeScript. load<T>, store<T>, memory.fill and the u32/u64/f64 casts
// are asc builtins; scripts/build-wasm.ts compiles it with asc into workloads/primes/generated/.
/**
 * The CPU prime-counting kernel in WebAssembly: a segmented sieve of Eratosthenes. The caller (kernel-wasm.ts) lays
 * out memory and passes byte offsets:
 *
 * - `sieveBase` sieves [0, limit] once per unit into a byte-flag scratch area and writes the primes ≤ limit (the base
 *   primes, limit = ⌊√(hi − 1)⌋) as u32 values;
 * - `countSegment` counts the primes in one segment [lo, hi) (at most the caller's segment buffer long) by crossing off
 *   the multiples of every base prime p with p² < hi in a byte array, then summing the survivors.
 *
 * Range ends travel as f64 (exact for integers below 2^53; the workload caps hi far below that), so JS passes plain
 * numbers, not BigInts.
 */

/** First free byte after the module's own data: the caller lays out its buffers from here (64-byte aligned). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~63
}

/** Writes the primes ≤ limit as u32 at `primes`, using limit + 1 bytes at `flags`; returns how many. */
export function sieveBase(flags: usize, primes: usize, limit: u32): u32 {
  if (limit < 2) return 0
  memory.fill(flags, 1, <usize>limit + 1)
  for (let i: u32 = 2; <u64>i * i <= <u64>limit; i++) {
    if (load<u8>(flags + i) == 0) continue
    for (let j: u32 = i * i; j <= limit; j += i) {
      store<u8>(flags + j, 0)
      if (j > limit - i) break
    }
  }
  let count: u32 = 0
  for (let i: u32 = 2; i <= limit; i++) {
    if (load<u8>(flags + i) != 0) {
      store<u32>(primes + (<usize>count << 2), i)
      count++
    }
  }
  return count
}

/** Counts the primes in [lo, hi) with the base primes at `primes` (nPrimes of them), sieving in `seg` (hi − lo bytes). */
export function countSegment(primes: usize, nPrimes: u32, seg: usize, loF: f64, hiF: f64): u32 {
  const lo = <u64>loF
  const hi = <u64>hiF
  if (hi <= lo) return 0
  const n = <usize>(hi - lo)
  memory.fill(seg, 1, n)
  for (let i: u32 = 0; i < nPrimes; i++) {
    const p = <u64>load<u32>(primes + (<usize>i << 2))
    if (p * p >= hi) break
    let start = ((lo + p - 1) / p) * p
    if (start < p * p) start = p * p
    const step = <usize>p
    for (let j = <usize>(start - lo); j < n; j += step) store<u8>(seg + j, 0)
  }
  // 0 and 1 are not primes.
  for (let v = lo; v < 2 && v < hi; v++) store<u8>(seg + <usize>(v - lo), 0)
  let count: u32 = 0
  let j: usize = 0
  // Eight flags at a time: each is 0 or 1, so the bytes of a u64 sum without carries.
  for (; j + 8 <= n; j += 8) {
    let w = load<u64>(seg + j)
    w = (w & 0x00ff00ff00ff00ff) + ((w >> 8) & 0x00ff00ff00ff00ff)
    w = (w & 0x0000ffff0000ffff) + ((w >> 16) & 0x0000ffff0000ffff)
    count += <u32>((w & 0xffffffff) + (w >> 32))
  }
  for (; j < n; j++) count += load<u8>(seg + j)
  return count
}
