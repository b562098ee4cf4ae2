/** The primes workload as the hub sees it (over bytes); registered in ../registry.ts. */
import type { HubWorkload } from '../registry.ts'
import type { WorkloadDescriptor } from '../types.ts'
import { primes, type PrimesParams, type PrimesSpec } from './descriptor.ts'
import { assemblePrimes, bytesToPrimesOutput, generatePrimes } from './generate.ts'
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
}
