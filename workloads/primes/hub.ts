/** The primes workload as the hub sees it (over bytes); registered in ../registry.ts. */
import { sameBytes } from '../compare.ts'
import type { HubWorkload } from '../registry.ts'
import type { WorkloadDescriptor } from '../types.ts'
import { blockCount, primes, type PrimesParams, type PrimesSpec } from './descriptor.ts'
import { assemblePrimes, bytesToPrimesOutput, generatePrimes, primesOutputToBytes } from './generate.ts'
import { blockRange, countPrimesJs } from './kernel-cpu.ts'
import { verifyPrimes } from './verify.ts'

export const primesHub: HubWorkload = {
  descriptor: primes as WorkloadDescriptor<unknown, unknown>,
  async generate(raw) {
    return generatePrimes(raw as PrimesParams)
  },
  verify(rawSpec, inputs, output, random) {
    const spec = rawSpec as PrimesSpec
    if (inputs.length !== 0) return { ok: false, reason: `unit has ${inputs.length} inputs, primes needs none` }
    if (output.byteLength !== primes.outputBytes(spec)) {
      return { ok: false, reason: `output is ${output.byteLength} bytes, expected ${primes.outputBytes(spec)} (u32 total + one u32 per block)` }
    }
    return verifyPrimes(spec, bytesToPrimesOutput(output), random)
  },
  assemble(params, outputs) {
    return assemblePrimes(params as PrimesParams, (i) => outputs[i])
  },
  // A count is checked only in a few random blocks (verify.ts): two independent volunteers must agree exactly.
  replication: { quorum: 2, maxResults: 6 },
  agree: (_spec, a, b) => sameBytes(a, b),
  solve(rawSpec) {
    const spec = rawSpec as PrimesSpec
    const blocks = blockCount(spec)
    const words = new Uint32Array(1 + blocks)
    for (let i = 0; i < blocks; i++) {
      const { lo, hi } = blockRange(spec, i)
      words[1 + i] = countPrimesJs(lo, hi)
      words[0] += words[1 + i]
    }
    return primesOutputToBytes(words)
  },
}
