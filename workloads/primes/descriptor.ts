/** Counting the primes in a range [lo, hi) with a segmented sieve; each unit counts one sub-range, block by block. */
import { z } from 'zod'
import { MAX_UNITS_PER_JOB } from '../../protocol/limits.ts'
import type { WorkloadDescriptor } from '../types.ts'

/** Largest hi: base primes go up to √hi = 10^6, so a kernel's and the hub's base sieve stay about 1 MB. */
export const MAX_PRIMES_HI = 1e12
/** Longest unit range: about 0.1 to 1 s in the WebAssembly kernel, a few seconds in the JS fallback. */
export const MAX_PRIMES_UNIT_SPAN = 1e8
/** Longest block: the hub recomputes whole blocks in its spot check, so a block costs it a few ms at most. */
export const MAX_PRIMES_BLOCK = 1e6
/** Most blocks in a unit (the output holds one u32 count per block). */
export const MAX_PRIMES_BLOCKS_PER_UNIT = 1024

const Bound = z.int().min(0).max(MAX_PRIMES_HI)

export const PrimesParams = z
  .strictObject({
    lo: Bound.describe('first integer of the range (inclusive)'),
    hi: Bound.describe('end of the range (exclusive); at most 10^12'),
    /** Integers per unit; the last unit takes what is left. */
    unitSpan: z.int().min(1).max(MAX_PRIMES_UNIT_SPAN).default(10_000_000),
    /** Integers per block: a unit reports one count per block, and the hub spot-checks whole blocks. */
    block: z.int().min(1).max(MAX_PRIMES_BLOCK).default(1_000_000),
  })
  .refine((p) => p.hi > p.lo, { message: 'hi must be greater than lo', path: ['hi'] })
  .refine((p) => Math.ceil(p.unitSpan / p.block) <= MAX_PRIMES_BLOCKS_PER_UNIT, {
    message: `block is too small: a unit may hold at most ${MAX_PRIMES_BLOCKS_PER_UNIT} blocks (ceil(unitSpan/block))`,
    path: ['block'],
  })
  .refine((p) => Math.ceil((p.hi - p.lo) / p.unitSpan) <= MAX_UNITS_PER_JOB, {
    message: `unitSpan is too small: a job may split into at most ${MAX_UNITS_PER_JOB} units (ceil((hi - lo)/unitSpan))`,
    path: ['unitSpan'],
  })
export type PrimesParams = z.infer<typeof PrimesParams>

export const PrimesSpec = z
  .strictObject({
    lo: Bound,
    hi: Bound,
    block: z.int().min(1).max(MAX_PRIMES_BLOCK),
  })
  .refine((s) => s.hi > s.lo && s.hi - s.lo <= MAX_PRIMES_UNIT_SPAN, {
    message: `hi must exceed lo by 1 to ${MAX_PRIMES_UNIT_SPAN}`,
    path: ['hi'],
  })
  .refine((s) => Math.ceil((s.hi - s.lo) / s.block) <= MAX_PRIMES_BLOCKS_PER_UNIT, {
    message: `a unit may hold at most ${MAX_PRIMES_BLOCKS_PER_UNIT} blocks`,
    path: ['block'],
  })
export type PrimesSpec = z.infer<typeof PrimesSpec>

/** Blocks of a unit: [lo + i·block, min(hi, lo + (i+1)·block)) for i < blockCount. */
export function blockCount(spec: PrimesSpec): number {
  return Math.ceil((spec.hi - spec.lo) / spec.block)
}

/**
 * The cost model, in "operations" credited like flops. Sieving [lo, hi) crosses off about (hi − lo)·Σ_{p ≤ √hi} 1/p
 * ≈ (hi − lo)·ln ln √hi entries (Mertens' second theorem), and reading the survivors costs (hi − lo) more; the base
 * sieve up to √hi costs about √hi. So ops = (hi − lo)·(1 + ln ln hi) + √hi, with ln ln hi taken as at least 1 so tiny
 * ranges near 0 are not credited nothing. One sieve operation is a byte store, cheaper than a matmul flop's share of
 * a fused multiply-add, so the two workloads' credits are comparable only roughly.
 */
export function primesCost(spec: Pick<PrimesSpec, 'lo' | 'hi'>): number {
  const loglog = Math.max(1, Math.log(Math.log(Math.max(spec.hi, 3))))
  return Math.round((spec.hi - spec.lo) * (1 + loglog) + Math.sqrt(spec.hi))
}

export const primes: WorkloadDescriptor<PrimesParams, PrimesSpec> = {
  id: 'primes',
  version: 1,
  title: 'Prime counting',
  description: 'Counts the prime numbers in a range of integers with a segmented sieve; integer and deterministic.',
  params: PrimesParams as z.ZodType<PrimesParams>,
  spec: PrimesSpec as z.ZodType<PrimesSpec>,
  costFlops: primesCost,
  outputBytes: (spec) => 4 * (1 + blockCount(spec)),
  encoding: {
    inputs: 'none: a unit is described by its spec { lo, hi, block } alone',
    output:
      'u32 little-endian words: [total, count of block 0, count of block 1, …]; block i is [lo + i·block, min(hi, lo + (i+1)·block))',
  },
}
