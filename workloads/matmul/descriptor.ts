/** Dense f32 matrix multiply, C = A·B, split into output tiles. */
import { z } from 'zod'
import { Hash } from '../../protocol/schemas.ts'
import { MAX_MATRIX_DIM, MAX_MATRIX_ELEMENTS, MAX_TILE, MAX_UNITS_PER_JOB } from '../../protocol/limits.ts'
import type { WorkloadDescriptor } from '../types.ts'

const Dim = z.int().min(1).max(MAX_MATRIX_DIM)

export const MatmulParams = z
  .strictObject({
    m: Dim.describe('rows of A and C'),
    n: Dim.describe('columns of B and C'),
    k: Dim.describe('columns of A, rows of B'),
    /** Edge of an output tile; each unit computes one tile x tile block of C. */
    tile: z.int().min(1).max(MAX_TILE).default(256),
    inputs: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('blobs'), a: Hash, b: Hash }).describe('A and B uploaded with PUT /api/v1/blobs'),
      z
        .strictObject({ kind: z.literal('random'), seed: z.int().min(0).max(2 ** 31 - 1) })
        .describe('A and B filled with uniform values in [-1, 1) from a seeded generator'),
    ]),
  })
  .refine((p) => p.m * p.k <= MAX_MATRIX_ELEMENTS && p.k * p.n <= MAX_MATRIX_ELEMENTS, {
    message: `A (m x k) and B (k x n) may each hold at most ${MAX_MATRIX_ELEMENTS} elements`,
  })
  .refine((p) => Math.ceil(p.m / p.tile) * Math.ceil(p.n / p.tile) <= MAX_UNITS_PER_JOB, {
    message: `tile is too small: a job may split into at most ${MAX_UNITS_PER_JOB} units (ceil(m/tile)·ceil(n/tile))`,
    path: ['tile'],
  })
export type MatmulParams = z.infer<typeof MatmulParams>

export const MatmulSpec = z.strictObject({
  m: z.int().min(1).max(MAX_TILE),
  n: z.int().min(1).max(MAX_TILE),
  k: Dim,
})
export type MatmulSpec = z.infer<typeof MatmulSpec>

export const matmul: WorkloadDescriptor<MatmulParams, MatmulSpec> = {
  id: 'matmul',
  version: 1,
  title: 'Dense matrix multiply',
  description: 'Multiplies blocks of two f32 matrices (C = A·B); each unit computes one tile of C.',
  params: MatmulParams as z.ZodType<MatmulParams>,
  spec: MatmulSpec,
  costFlops: (spec) => 2 * spec.m * spec.n * spec.k,
  outputBytes: (spec) => spec.m * spec.n * 4,
  encoding: {
    inputs: 'inputs[0]: A block, m x k f32 little-endian row-major; inputs[1]: B block, k x n f32 little-endian row-major',
    output: 'C block, m x n f32 little-endian row-major',
  },
}
