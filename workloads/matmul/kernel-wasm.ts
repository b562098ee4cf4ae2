/**
 * The WebAssembly SIMD CPU kernel, JavaScript side: loads one of the two builds of assembly/matmul.ts, lays a unit's
 * A, B and C out in its memory, and computes C in row slices so the worker reports progress and sees cancellation
 * every couple of milliseconds. Same contract as the JS kernel (kernel-cpu.ts), which stays the fallback where
 * WebAssembly SIMD is missing and the reference in tests.
 */
import type { CpuKernelContext } from '../types.ts'
import { createYielder } from '../yield.ts'
import type { MatmulSpec } from './descriptor.ts'

/** The two builds: with relaxed SIMD (fused multiply-add) and with plain 128-bit SIMD only. */
export type MatmulWasmBuild = 'relaxed-simd' | 'simd'

/** What assembly/matmul.ts exports (byte offsets into `memory` are plain numbers). */
interface MatmulWasmExports {
  memory: WebAssembly.Memory
  MR: WebAssembly.Global
  NR: WebAssembly.Global
  KC: WebAssembly.Global
  MC: WebAssembly.Global
  heapBase(): number
  packB(b: number, bp: number, k: number, n: number): void
  gemmRows(a: number, bp: number, c: number, ap: number, n: number, k: number, i0: number, i1: number): void
}

/** An instantiated build. Units reuse its memory, which grows to the largest unit and stays. */
export interface MatmulWasm {
  build: MatmulWasmBuild
  exports: MatmulWasmExports
}

/** Where a build's .wasm is: vite emits it as an asset of the worker bundle; under Node it is a file: URL. */
export function matmulWasmUrl(build: MatmulWasmBuild): URL {
  // Two literal `new URL(…, import.meta.url)` expressions, so vite sees and emits both files. `?no-inline`: emitted as
  // files (precached by the service worker, fetched only for the build this engine runs), not inlined into the worker
  // as base64 data: URLs, which vite does below 4 KB; vite drops the query from the built URL, Node's fs ignores it.
  return build === 'relaxed-simd'
    ? new URL('./generated/matmul-relaxed-simd.wasm?no-inline', import.meta.url)
    : new URL('./generated/matmul-simd.wasm?no-inline', import.meta.url)
}

/** Thrown when a build cannot be loaded; says which file and what to run. */
export class MatmulWasmLoadError extends Error {
  override name = 'MatmulWasmLoadError'
}

async function readBytes(url: URL): Promise<ArrayBuffer | Uint8Array> {
  if (url.protocol === 'file:') {
    // Node (vitest, benches): fetch() cannot read file: URLs. getBuiltinModule keeps node:fs out of the browser bundle.
    const fs = globalThis.process?.getBuiltinModule?.('node:fs')
    if (!fs) throw new MatmulWasmLoadError(`cannot read ${url.href}: no file system here`)
    if (!fs.existsSync(url)) throw new MatmulWasmLoadError(`${url.pathname} is missing: run npm run build:wasm`)
    return fs.readFileSync(url)
  }
  const response = await fetch(url)
  if (!response.ok) throw new MatmulWasmLoadError(`fetching ${url.href} failed: HTTP ${response.status}`)
  return response.arrayBuffer()
}

/** Loads and compiles a build (from `bytes` when given, else from matmulWasmUrl). */
export async function compileMatmulWasm(build: MatmulWasmBuild, bytes?: ArrayBuffer | Uint8Array): Promise<WebAssembly.Module> {
  return WebAssembly.compile((bytes ?? (await readBytes(matmulWasmUrl(build)))) as BufferSource)
}

/**
 * An instance of a build, from its compiled module when given. An instance computes one unit at a time: its memory
 * holds that unit's matrices.
 */
export async function instantiateMatmulWasm(build: MatmulWasmBuild, module?: WebAssembly.Module): Promise<MatmulWasm> {
  const instance = await WebAssembly.instantiate(module ?? (await compileMatmulWasm(build)))
  return { build, exports: instance.exports as unknown as MatmulWasmExports }
}

/**
 * About 150 Mflop between progress reports and cancellation checks: 3 to 6 ms at 25 to 55 GFLOP/s, and never less
 * than one block of MC rows. Each slice streams all of packed B once, so thin slices cost memory bandwidth: slices of
 * 6 rows made a 512 x 512 x 8192 unit 2.5 times slower than blocks of 72.
 */
const SLICE_FLOPS = 150e6
const align64 = (bytes: number) => Math.ceil(bytes / 64) * 64

/**
 * Computes `c = a·b` for one unit with the WebAssembly kernel. Resolves false when cancelled part-way (c is then
 * incomplete), true when c holds the product.
 */
export async function matmulWasm(
  kernel: MatmulWasm,
  spec: MatmulSpec,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  ctx: CpuKernelContext,
): Promise<boolean> {
  const { m, n, k } = spec
  const x = kernel.exports
  const MR = x.MR.value as number
  const NR = x.NR.value as number
  const KC = x.KC.value as number
  const MC = x.MC.value as number
  // Layout: [A] [B before it is packed] [packed B] [C] [packed-A scratch]. A and B are both copied in before B is
  // packed, so the inputs are handed back (onInputsCopied) after two memory copies, not after the packing too: a
  // split unit's next part, waiting for them, starts that much sooner.
  const nPanels = Math.ceil(n / NR)
  const raw = x.heapBase()
  const rawB = raw + align64(m * k * 4)
  const packedB = rawB + align64(k * n * 4)
  const cAt = packedB + align64(nPanels * NR * k * 4)
  const scratch = cAt + align64(m * n * 4)
  const end = scratch + align64(MC * KC * 4)
  const pages = Math.ceil(end / 65536) - x.memory.buffer.byteLength / 65536
  if (pages > 0) x.memory.grow(pages)

  new Float32Array(x.memory.buffer, raw, m * k).set(a)
  new Float32Array(x.memory.buffer, rawB, k * n).set(b)
  ctx.onInputsCopied?.()
  x.packB(rawB, packedB, k, n)

  const rowsPerSlice = Math.max(1, Math.round(SLICE_FLOPS / Math.max(1, 2 * n * k * MC))) * MC
  // Rows before `from` came from a checkpoint and are in c already.
  const from = Math.min(m, Math.max(0, ctx.resumeAt ?? 0))
  if (from > 0) ctx.onProgress(from / m)
  const yielder = createYielder()
  try {
    for (let i0 = from; i0 < m; i0 += rowsPerSlice) {
      if (ctx.isCancelled()) return false
      const i1 = Math.min(m, i0 + rowsPerSlice)
      x.gemmRows(raw, packedB, cAt, scratch, n, k, i0, i1)
      // Each slice's rows go to c at once (the same copy as one at the end), so c is a checkpoint at every slice.
      c.set(new Float32Array(x.memory.buffer, cAt + i0 * n * 4, (i1 - i0) * n), i0 * n)
      ctx.onProgress(i1 / m)
      ctx.onSlice?.(i1)
      if (i1 < m) await yielder.yieldNow()
    }
  } finally {
    yielder.close()
  }
  return true
}
