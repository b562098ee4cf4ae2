/** The matmul work generator: splits C = A·B into tile x tile blocks of C, one unit each. */
import { f32ToBytes, sha256Hex } from '../../protocol/encoding.ts'
import type { GeneratedJob } from '../types.ts'
import { matmul, type MatmulParams, type MatmulSpec } from './descriptor.ts'

/** Fills a rows x cols matrix with uniform values in [-1, 1) from `seed` (mulberry32: fast, reproducible). */
export function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const out = new Float32Array(rows * cols)
  let s = seed >>> 0
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1
  }
  return out
}

/** The A and B a `random` job multiplies (B uses the next seed so A and B differ). */
export function randomInputs(params: Pick<MatmulParams, 'm' | 'n' | 'k'>, seed: number): { a: Float32Array; b: Float32Array } {
  return { a: randomMatrix(params.m, params.k, seed), b: randomMatrix(params.k, params.n, seed + 1) }
}

/** Tile grid of a job: `rows` x `cols` tiles, unit index = tileRow * cols + tileCol. */
export function tileGrid(params: Pick<MatmulParams, 'm' | 'n' | 'tile'>): { rows: number; cols: number } {
  return { rows: Math.ceil(params.m / params.tile), cols: Math.ceil(params.n / params.tile) }
}

/**
 * Splits a job into units. A's row blocks and B's column blocks are stored once each, content-addressed, and shared
 * by every unit of their tile row or column (so peers can share them too).
 */
export async function generateMatmul(
  params: MatmulParams,
  a: Float32Array,
  b: Float32Array,
): Promise<GeneratedJob<MatmulSpec>> {
  const { m, n, k, tile } = params
  if (a.length !== m * k) throw new RangeError(`A has ${a.length} elements, expected m x k = ${m * k}`)
  if (b.length !== k * n) throw new RangeError(`B has ${b.length} elements, expected k x n = ${k * n}`)
  const grid = tileGrid(params)
  const blobs = new Map<string, Uint8Array>()
  const put = async (bytes: Uint8Array) => {
    const hash = await sha256Hex(bytes)
    blobs.set(hash, bytes)
    return hash
  }

  const rowBlocks: { hash: string; rows: number }[] = []
  for (let r = 0; r < grid.rows; r++) {
    const rows = Math.min(tile, m - r * tile)
    const block = a.slice(r * tile * k, (r * tile + rows) * k)
    rowBlocks.push({ hash: await put(f32ToBytes(block)), rows })
  }
  const colBlocks: { hash: string; cols: number }[] = []
  for (let c = 0; c < grid.cols; c++) {
    const cols = Math.min(tile, n - c * tile)
    const block = new Float32Array(k * cols)
    for (let p = 0; p < k; p++) block.set(b.subarray(p * n + c * tile, p * n + c * tile + cols), p * cols)
    colBlocks.push({ hash: await put(f32ToBytes(block)), cols })
  }

  const units: GeneratedJob<MatmulSpec>['units'] = []
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) {
      const spec: MatmulSpec = { m: rowBlocks[r].rows, n: colBlocks[c].cols, k }
      units.push({ spec, inputs: [rowBlocks[r].hash, colBlocks[c].hash], costFlops: matmul.costFlops(spec) })
    }
  }
  return { blobs, units }
}

/** Places each unit's output tile into the full m x n C. `outputOf(i)` returns unit i's verified output. */
export function assembleMatmul(params: MatmulParams, outputOf: (unitIndex: number) => Float32Array): Float32Array {
  const { m, n, tile } = params
  const grid = tileGrid(params)
  const out = new Float32Array(m * n)
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) {
      const tileC = outputOf(r * grid.cols + c)
      const cols = Math.min(tile, n - c * tile)
      const rows = Math.min(tile, m - r * tile)
      for (let i = 0; i < rows; i++) out.set(tileC.subarray(i * cols, (i + 1) * cols), (r * tile + i) * n + c * tile)
    }
  }
  return out
}
