/**
 * Splits one matmul unit by rows so several workers compute it at once (WorkerPool.runAcross): part i gets a block
 * of A's rows and all of B, and computes the same block of C's rows; C is the parts' outputs one after another.
 */
import type { MatmulSpec } from './descriptor.ts'

/** A (spec, inputs) pair of one part. */
export interface MatmulPart {
  spec: MatmulSpec
  inputs: Uint8Array[]
}

/** Splits a unit into at most `parts` row blocks of equal height (fewer when it has fewer rows than parts). */
export function splitMatmulRows(spec: MatmulSpec, inputs: Uint8Array[], parts: number): MatmulPart[] {
  const [a, b] = inputs
  const { m, n, k } = spec
  // Equal heights matter more than whole register tiles: the kernel handles a part's last partial tile at the edge.
  const rows = Math.ceil(m / Math.max(1, parts))
  const out: MatmulPart[] = []
  for (let r0 = 0; r0 < m; r0 += rows) {
    const r1 = Math.min(m, r0 + rows)
    // Views, not copies: WorkerPool.runAcross moves the buffers from part to part (or copies them where it must).
    out.push({ spec: { m: r1 - r0, n, k }, inputs: [a.subarray(r0 * k * 4, r1 * k * 4), b] })
  }
  return out
}

/** C from its row blocks, in order. */
export function joinMatmulRows(outputs: Uint8Array[]): Uint8Array {
  const c = new Uint8Array(outputs.reduce((sum, o) => sum + o.byteLength, 0))
  let at = 0
  for (const o of outputs) {
    c.set(o, at)
    at += o.byteLength
  }
  return c
}

/** The row split in the shape WorkerPool.runAcross takes. */
export const matmulRowSplit = {
  split: (spec: Record<string, unknown>, inputs: Uint8Array[], parts: number) => splitMatmulRows(spec as MatmulSpec, inputs, parts),
  join: joinMatmulRows,
}
