/** The primes work generator: splits [lo, hi) into units of `unitSpan` integers (the last one shorter). */
import type { GeneratedJob } from '../types.ts'
import { primes, type PrimesParams, type PrimesSpec } from './descriptor.ts'

/** Splits a job into units. Units read no blobs: the spec is the whole input. */
export function generatePrimes(params: PrimesParams): GeneratedJob<PrimesSpec> {
  const parsed = primes.params.safeParse(params)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new RangeError(`params.${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  const { lo, hi, unitSpan, block } = parsed.data
  const units: GeneratedJob<PrimesSpec>['units'] = []
  for (let start = lo; start < hi; start += unitSpan) {
    const spec: PrimesSpec = { lo: start, hi: Math.min(hi, start + unitSpan), block }
    units.push({ spec, inputs: [], costFlops: primes.costFlops(spec) })
  }
  return { blobs: new Map(), units }
}

/** The job's output: the total count over [lo, hi), as a u64 little-endian (8 bytes), from the units' outputs. */
export function assemblePrimes(params: PrimesParams, outputOf: (unitIndex: number) => Uint8Array): Uint8Array {
  const units = Math.ceil((params.hi - params.lo) / params.unitSpan)
  let total = 0n
  for (let i = 0; i < units; i++) {
    const bytes = outputOf(i)
    total += BigInt(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true))
  }
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, total, true)
  return out
}

/** Unit output words [total, block counts…] as little-endian bytes. */
export function primesOutputToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4)
  const view = new DataView(out.buffer)
  words.forEach((w, i) => view.setUint32(i * 4, w, true))
  return out
}

/** Little-endian bytes back to words (the length must be a multiple of 4). */
export function bytesToPrimesOutput(bytes: Uint8Array): Uint32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`output is ${bytes.byteLength} bytes, not a whole number of u32 words`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const words = new Uint32Array(bytes.byteLength / 4)
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true)
  return words
}
