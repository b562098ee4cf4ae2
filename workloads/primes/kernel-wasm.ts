/**
 * The WebAssembly prime-counting kernel, JavaScript side: loads assembly/primes.ts (its SIMD build; the code is
 * scalar, the build is the one every engine with WebAssembly SIMD runs), sieves the base primes once per unit and
 * counts each block segment by segment. Same contract as the JS kernel (kernel-cpu.ts), which stays the fallback and
 * the reference in tests.
 */
import type { CpuKernelContext } from '../types.ts'
import { blockCount, type PrimesSpec } from './descriptor.ts'
import { baseLimit, countBlocks, SEGMENT } from './kernel-cpu.ts'

interface PrimesWasmExports {
  memory: WebAssembly.Memory
  heapBase(): number
  sieveBase(flags: number, primes: number, limit: number): number
  countSegment(primes: number, nPrimes: number, seg: number, lo: number, hi: number): number
}

/** An instantiated kernel. Units reuse its memory, which grows to the largest unit and stays. */
export interface PrimesWasm {
  exports: PrimesWasmExports
}

/** Where the .wasm is: vite emits it as an asset of the worker bundle; under Node it is a file: URL. */
export function primesWasmUrl(): URL {
  return new URL('./generated/primes-simd.wasm?no-inline', import.meta.url)
}

/** Thrown when the build cannot be loaded; says which file and what to run. */
export class PrimesWasmLoadError extends Error {
  override name = 'PrimesWasmLoadError'
}

async function readBytes(url: URL): Promise<ArrayBuffer | Uint8Array> {
  if (url.protocol === 'file:') {
    const fs = globalThis.process?.getBuiltinModule?.('node:fs')
    if (!fs) throw new PrimesWasmLoadError(`cannot read ${url.href}: no file system here`)
    if (!fs.existsSync(url)) throw new PrimesWasmLoadError(`${url.pathname} is missing: run npm run build:wasm`)
    return fs.readFileSync(url)
  }
  const response = await fetch(url)
  if (!response.ok) throw new PrimesWasmLoadError(`fetching ${url.href} failed: HTTP ${response.status}`)
  return response.arrayBuffer()
}

/** Loads and compiles the kernel (from `bytes` when given). */
export async function compilePrimesWasm(bytes?: ArrayBuffer | Uint8Array): Promise<WebAssembly.Module> {
  return WebAssembly.compile((bytes ?? (await readBytes(primesWasmUrl()))) as BufferSource)
}

/** An instance of the kernel; it computes one unit at a time. */
export async function instantiatePrimesWasm(module?: WebAssembly.Module): Promise<PrimesWasm> {
  const instance = await WebAssembly.instantiate(module ?? (await compilePrimesWasm()))
  return { exports: instance.exports as unknown as PrimesWasmExports }
}

const align64 = (bytes: number) => Math.ceil(bytes / 64) * 64

/** Computes one unit's [total, block counts…] into `out` with the WebAssembly kernel. Resolves false when cancelled. */
export async function primesWasm(kernel: PrimesWasm, spec: PrimesSpec, out: Uint32Array, ctx: CpuKernelContext): Promise<boolean> {
  if (out.length !== 1 + blockCount(spec)) throw new RangeError(`output holds ${out.length} words, the unit needs ${1 + blockCount(spec)}`)
  const x = kernel.exports
  const limit = baseLimit(spec.hi)
  // Layout: [base-sieve flags, limit + 1 bytes] [base primes, u32] [segment bytes].
  const flags = x.heapBase()
  const primesAt = flags + align64(limit + 1)
  // π(x) < 1.26·x/ln x for x > 1 (Rosser & Schoenfeld 1962); +16 covers tiny limits.
  const maxPrimes = Math.ceil((1.26 * limit) / Math.log(Math.max(limit, 3))) + 16
  const seg = primesAt + align64(maxPrimes * 4)
  const segLength = Math.min(SEGMENT, spec.block)
  const end = seg + align64(segLength + 8)
  const pages = Math.ceil(end / 65536) - x.memory.buffer.byteLength / 65536
  if (pages > 0) x.memory.grow(pages)
  const nPrimes = x.sieveBase(flags, primesAt, limit)
  ctx.onInputsCopied?.()
  return countBlocks(spec, out, ctx, (lo, hi) => {
    let count = 0
    for (let s = lo; s < hi; s += SEGMENT) count += x.countSegment(primesAt, nPrimes, seg, s, Math.min(hi, s + SEGMENT))
    return count
  })
}
