/**
 * WebAssembly SIMD feature detection: WebAssembly.validate on tiny hand-assembled modules (as wasm-feature-detect
 * does), so the page and the worker know which CPU kernel runs without downloading either build.
 */

/** What this engine runs: relaxed SIMD (f32x4.relaxed_madd), plain 128-bit SIMD, or neither. */
export type WasmSimdLevel = 'relaxed-simd' | 'simd' | 'none'

/** A module with one function `() -> ()` whose body is `body` (then `end`). */
function moduleWithBody(body: number[]): Uint8Array {
  const code = [0x00 /* no locals */, ...body, 0x0b /* end */]
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type section: one type, func () -> ()
    ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
    ...[0x0a, code.length + 2, 0x01, code.length, ...code], // code section: its body
  ])
}

const V128_CONST = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]
/** f32x4.mul (0xfd 0xe6) of two constants, dropped. */
const SIMD_MODULE = moduleWithBody([...V128_CONST, ...V128_CONST, 0xfd, 0xe6, 0x01, 0x1a])
/** f32x4.relaxed_madd (0xfd 0x105) of three constants, dropped. */
const RELAXED_SIMD_MODULE = moduleWithBody([...V128_CONST, ...V128_CONST, ...V128_CONST, 0xfd, 0x85, 0x02, 0x1a])

/** Detects the engine's WebAssembly SIMD level (cheap: two validations of modules under 100 bytes). */
export function wasmSimdLevel(): WasmSimdLevel {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return 'none'
  if (!WebAssembly.validate(SIMD_MODULE as BufferSource)) return 'none'
  return WebAssembly.validate(RELAXED_SIMD_MODULE as BufferSource) ? 'relaxed-simd' : 'simd'
}

/** How the CPU backend is named to the volunteer: "WASM SIMD" where either SIMD build runs, else "JS". */
export function cpuKernelLabel(level: WasmSimdLevel = wasmSimdLevel()): string {
  return level === 'none' ? 'JS' : 'WASM SIMD'
}
