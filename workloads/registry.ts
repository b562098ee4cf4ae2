/**
 * The workload registry: adding a workload touches its own folder and one line here. The hub looks workloads up by id;
 * `verify` adapts each workload's verifier to raw bytes so the hub's validator stays workload-agnostic.
 */
import { bytesToF32, f32ToBytes } from '../protocol/encoding.ts'
import type { Verdict, WorkloadDescriptor } from './types.ts'
import { matmul, generateMatmul, assembleMatmul, randomInputs, verifyMatmul, type MatmulParams, type MatmulSpec } from './matmul/index.ts'
import type { GeneratedJob } from './types.ts'
import { primesHub } from './primes/hub.ts'

/** What the hub needs from a workload, over bytes. */
export interface HubWorkload {
  descriptor: WorkloadDescriptor<unknown, unknown>
  /** Splits a job into units; `getBlob` returns an uploaded input by hash (undefined when missing). */
  generate(params: unknown, getBlob: (hash: string) => Promise<Uint8Array | undefined>): Promise<GeneratedJob<unknown>>
  /** Checks one output against the unit's inputs. */
  verify(spec: unknown, inputs: Uint8Array[], output: Uint8Array, random: () => number): Verdict
  /** Optional: joins the verified outputs of a finished job (by unit index) into the job's output bytes. */
  assemble?(params: unknown, outputs: Uint8Array[]): Uint8Array
  /**
   * Replicas and quorum, for workloads whose results `verify` cannot check fully and cheaply: each unit goes to
   * `quorum` independent volunteers and is done when that many results agree; disagreement sends more replicas, up to
   * `maxResults` results in all, after which the unit is an error. Absent: one result per unit, checked by `verify`.
   */
  replication?: { quorum: number; maxResults: number }
  /**
   * Whether two outputs of one unit are the same answer: the workload's own comparison (BOINC's `compare_results`).
   * Exact for integer outputs; floating-point ones document their tolerance.
   */
  agree(spec: unknown, a: Uint8Array, b: Uint8Array): boolean
  /**
   * The unit's correct output, computed by the hub: known-answer spot checks compare a volunteer's result with it.
   * Absent: the workload's units are never spot-check units.
   */
  solve?(spec: unknown, inputs: Uint8Array[]): Uint8Array
}

/** Relative tolerance of two matmul outputs, per element, against the larger magnitude (and 1e-6 absolute near 0). */
export const MATMUL_AGREE_TOLERANCE = 1e-3

function matmulAgree(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  const x = bytesToF32(a)
  const y = bytesToF32(b)
  for (let i = 0; i < x.length; i++) {
    const scale = Math.max(Math.abs(x[i]), Math.abs(y[i]), 1e-3)
    if (!(Math.abs(x[i] - y[i]) <= MATMUL_AGREE_TOLERANCE * scale)) return false
  }
  return true
}

const matmulHub: HubWorkload = {
  descriptor: matmul as WorkloadDescriptor<unknown, unknown>,
  async generate(raw, getBlob) {
    const params = raw as MatmulParams
    if (params.inputs.kind === 'random') {
      const { a, b } = randomInputs(params, params.inputs.seed)
      return generateMatmul(params, a, b)
    }
    const [a, b] = await Promise.all([getBlob(params.inputs.a), getBlob(params.inputs.b)])
    if (!a) throw new RangeError(`params.inputs.a: no blob ${params.inputs.a} was uploaded`)
    if (!b) throw new RangeError(`params.inputs.b: no blob ${params.inputs.b} was uploaded`)
    if (a.byteLength !== params.m * params.k * 4) {
      throw new RangeError(`params.inputs.a: blob holds ${a.byteLength} bytes, m x k f32 needs ${params.m * params.k * 4}`)
    }
    if (b.byteLength !== params.k * params.n * 4) {
      throw new RangeError(`params.inputs.b: blob holds ${b.byteLength} bytes, k x n f32 needs ${params.k * params.n * 4}`)
    }
    return generateMatmul(params, bytesToF32(a), bytesToF32(b))
  },
  verify(rawSpec, inputs, output, random) {
    const spec = rawSpec as MatmulSpec
    if (inputs.length !== 2) return { ok: false, reason: `unit has ${inputs.length} inputs, matmul needs 2` }
    if (output.byteLength !== matmul.outputBytes(spec)) {
      return { ok: false, reason: `output is ${output.byteLength} bytes, expected ${spec.m} x ${spec.n} f32 = ${matmul.outputBytes(spec)}` }
    }
    return verifyMatmul(spec, bytesToF32(inputs[0]), bytesToF32(inputs[1]), bytesToF32(output), random)
  },
  assemble(params, outputs) {
    return f32ToBytes(assembleMatmul(params as MatmulParams, (i) => bytesToF32(outputs[i])))
  },
  // Freivalds checks every product fully (see verify.ts): no replicas and no known-answer units needed.
  agree: (_spec, a, b) => matmulAgree(a, b),
}

export const workloads: ReadonlyMap<string, HubWorkload> = new Map([[matmul.id, matmulHub], ['primes', primesHub]])

/** The workload with `id`, or undefined. */
export function getWorkload(id: string): HubWorkload | undefined {
  return workloads.get(id)
}
