// @ts-nocheck: this file is AssemblyScript, not TypeScript. v128, f32x4, load<T>, memory.data and @inline are asc
// builtins; scripts/build-wasm.ts compiles it with asc (assemblyscript 0.28) into workloads/matmul/generated/.
/**
 * The CPU matmul kernel in WebAssembly 128-bit SIMD: f32 C = A·B, blocked and register-tiled after GotoBLAS/BLIS
 * (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", TOMS 2008).
 *
 * - B is packed once per unit into panels of NR columns (k x NR floats each, contiguous, zero-padded past n), so the
 *   micro-kernel reads B with two aligned vector loads per step of k.
 * - A is packed per MC x KC block into micro-panels of MR rows interleaved by k, so the micro-kernel broadcasts
 *   A's values from consecutive addresses (v128.load32_splat, which V8 emits as vbroadcastss: a load, no shuffle).
 * - The micro-kernel keeps an MR x NR tile of C in MR·NR/4 f32x4 accumulators for a whole KC block of k.
 *
 * Two builds come from this one source: with relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add on x64 with
 * FMA3 and on arm64) and without it (f32x4.mul then f32x4.add). ASC_FEATURE_RELAXED_SIMD is a compile-time constant,
 * so each build holds only its own micro-kernel.
 *
 * Memory is laid out by the caller (kernel-wasm.ts), which passes byte offsets; every matrix is row-major f32.
 */

/**
 * Rows of the register tile. With FMA, 6 x 8 = 12 accumulators plus two B vectors and one broadcast of A fill the
 * 15 xmm registers V8 allocates on x64 (it keeps xmm15 as scratch), and 12 independent FMA chains cover the FMA
 * latency (4 cycles x 2 pipes). Without FMA each product needs a temporary register as well, so 6 rows would spill:
 * 4 x 8 it is (8 accumulators; the adds' 3-cycle latency x 2 pipes needs only 6 chains).
 */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4
/** Columns of the register tile: two f32x4 vectors. */
export const NR: i32 = 8
/** Depth of a k-block: an MR x KC micro-panel of A (6 KB) and a KC x NR one of B (8 KB) stay in L1 together. */
export const KC: i32 = 256
/** Rows of A packed per block (a multiple of MR): MC x KC floats (72 KB) stay in L2 while B's panels stream by. */
export const MC: i32 = ASC_FEATURE_RELAXED_SIMD ? 72 : 64

/** One MR x NR tile for the edges of C, where the tile sticks out past the last row or column. */
const EDGE_TILE: usize = memory.data(6 * 8 * 4, 16)

/** First free byte after the module's own data: the caller lays out its matrices from here (64-byte aligned). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~63
}

/**
 * Packs B (k x n at `b`) into panels of NR columns at `bp`: panel j0/NR starts at bp + j0·k·4, and row p of a panel
 * is NR consecutive floats. Columns past n are zero. `bp` needs k · ceil(n / NR) · NR floats.
 */
export function packB(b: usize, bp: usize, k: i32, n: i32): void {
  for (let j0 = 0; j0 < n; j0 += NR) {
    const w = min(NR, n - j0)
    let dst = bp + (<usize>j0 * k) * 4
    let src = b + <usize>j0 * 4
    const ldb = <usize>n * 4
    if (w == NR) {
      for (let p = 0; p < k; p++) {
        v128.store(dst, v128.load(src))
        v128.store(dst, v128.load(src, 16), 16)
        src += ldb
        dst += NR * 4
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let j = 0; j < NR; j++) store<f32>(dst + j * 4, j < w ? load<f32>(src + j * 4) : 0)
        src += ldb
        dst += NR * 4
      }
    }
  }
}

/**
 * Packs rows [0, rows) and columns [0, kc) of A (at `a`, row stride `lda` floats) into micro-panels of MR rows at
 * `ap`: panel r0/MR starts at ap + r0·kc·4 and step p of it holds A[r0..r0+MR)[p]. Rows past `rows` are zero.
 */
function packA(a: usize, ap: usize, rows: i32, lda: i32, kc: i32): void {
  for (let r0 = 0; r0 < rows; r0 += MR) {
    const h = min(MR, rows - r0)
    const panel = ap + <usize>r0 * kc * 4
    for (let r = 0; r < MR; r++) {
      let dst = panel + r * 4
      if (r < h) {
        let src = a + <usize>(r0 + r) * lda * 4
        for (let p = 0; p < kc; p++) {
          store<f32>(dst, load<f32>(src))
          src += 4
          dst += MR * 4
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f32>(dst, 0)
          dst += MR * 4
        }
      }
    }
  }
}

/** acc + a·b, fused where the build has relaxed SIMD. */
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc)
  return f32x4.add(acc, f32x4.mul(a, b))
}

/**
 * The 6 x 8 micro-kernel (relaxed-SIMD build): C[0..6)[0..8) (at `c`, row stride `ldc` bytes) = (or +=, when
 * `accumulate`) the product of an A micro-panel and a B micro-panel over kc steps.
 */
function micro6x8(ap: usize, bp: usize, c: usize, ldc: usize, kc: i32, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0)
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0)
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0)
  // One step of k per iteration: unrolling it in the source made binaryen and V8 interleave the steps' loads, which
  // spilled accumulators to the stack and ran at less than half the speed.
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp)
    const b1 = v128.load(bp, 16)
    let a = v128.load32_splat(ap)
    c00 = madd(a, b0, c00)
    c01 = madd(a, b1, c01)
    a = v128.load32_splat(ap, 4)
    c10 = madd(a, b0, c10)
    c11 = madd(a, b1, c11)
    a = v128.load32_splat(ap, 8)
    c20 = madd(a, b0, c20)
    c21 = madd(a, b1, c21)
    a = v128.load32_splat(ap, 12)
    c30 = madd(a, b0, c30)
    c31 = madd(a, b1, c31)
    a = v128.load32_splat(ap, 16)
    c40 = madd(a, b0, c40)
    c41 = madd(a, b1, c41)
    a = v128.load32_splat(ap, 20)
    c50 = madd(a, b0, c50)
    c51 = madd(a, b1, c51)
    ap += 6 * 4
    bp += 8 * 4
  }
  // Each branch stores on its own: merging the two (add, then one shared store) made V8 keep accumulators live
  // across a join and spill three of them inside the loop, at half the speed.
  if (accumulate) {
    v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c, f32x4.add(v128.load(c, 16), c01), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c, f32x4.add(v128.load(c, 16), c11), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c, f32x4.add(v128.load(c, 16), c21), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c, f32x4.add(v128.load(c, 16), c31), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c40)); v128.store(c, f32x4.add(v128.load(c, 16), c41), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c50)); v128.store(c, f32x4.add(v128.load(c, 16), c51), 16)
  } else {
    v128.store(c, c00); v128.store(c, c01, 16); c += ldc
    v128.store(c, c10); v128.store(c, c11, 16); c += ldc
    v128.store(c, c20); v128.store(c, c21, 16); c += ldc
    v128.store(c, c30); v128.store(c, c31, 16); c += ldc
    v128.store(c, c40); v128.store(c, c41, 16); c += ldc
    v128.store(c, c50); v128.store(c, c51, 16)
  }
}

/** The 4 x 8 micro-kernel (plain-SIMD build); same contract as micro6x8. */
function micro4x8(ap: usize, bp: usize, c: usize, ldc: usize, kc: i32, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0)
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0)
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp)
    const b1 = v128.load(bp, 16)
    let a = v128.load32_splat(ap)
    c00 = madd(a, b0, c00)
    c01 = madd(a, b1, c01)
    a = v128.load32_splat(ap, 4)
    c10 = madd(a, b0, c10)
    c11 = madd(a, b1, c11)
    a = v128.load32_splat(ap, 8)
    c20 = madd(a, b0, c20)
    c21 = madd(a, b1, c21)
    a = v128.load32_splat(ap, 12)
    c30 = madd(a, b0, c30)
    c31 = madd(a, b1, c31)
    ap += 4 * 4
    bp += 8 * 4
  }
  if (accumulate) {
    v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c, f32x4.add(v128.load(c, 16), c01), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c, f32x4.add(v128.load(c, 16), c11), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c, f32x4.add(v128.load(c, 16), c21), 16); c += ldc
    v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c, f32x4.add(v128.load(c, 16), c31), 16)
  } else {
    v128.store(c, c00); v128.store(c, c01, 16); c += ldc
    v128.store(c, c10); v128.store(c, c11, 16); c += ldc
    v128.store(c, c20); v128.store(c, c21, 16); c += ldc
    v128.store(c, c30); v128.store(c, c31, 16)
  }
}

@inline function micro(ap: usize, bp: usize, c: usize, ldc: usize, kc: i32, accumulate: bool): void {
  if (ASC_FEATURE_RELAXED_SIMD) micro6x8(ap, bp, c, ldc, kc, accumulate)
  else micro4x8(ap, bp, c, ldc, kc, accumulate)
}

/** A tile at the edge of C (h < MR rows or w < NR columns): computed in EDGE_TILE, then its h x w part copied. */
function edgeTile(ap: usize, bp: usize, c: usize, ldc: usize, kc: i32, accumulate: bool, h: i32, w: i32): void {
  if (accumulate) {
    for (let r = 0; r < h; r++) {
      for (let j = 0; j < w; j++) store<f32>(EDGE_TILE + (r * NR + j) * 4, load<f32>(c + r * ldc + j * 4))
    }
  }
  micro(ap, bp, EDGE_TILE, NR * 4, kc, accumulate)
  for (let r = 0; r < h; r++) {
    for (let j = 0; j < w; j++) store<f32>(c + r * ldc + j * 4, load<f32>(EDGE_TILE + (r * NR + j) * 4))
  }
}

/**
 * Rows [i0, i1) of C = A·B. `a`: A (m x k), `bp`: B packed by packB, `c`: C (m x n, written, not read before),
 * `ap`: scratch for MC x KC floats of packed A. The caller slices m into calls to report progress and cancel.
 */
export function gemmRows(a: usize, bp: usize, c: usize, ap: usize, n: i32, k: i32, i0: i32, i1: i32): void {
  const ldc = <usize>n * 4
  for (let ic = i0; ic < i1; ic += MC) {
    const mc = min(MC, i1 - ic)
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc)
      const accumulate = pc > 0
      packA(a + (<usize>ic * k + pc) * 4, ap, mc, k, kc)
      for (let jr = 0; jr < n; jr += NR) {
        const w = min(NR, n - jr)
        const bPanel = bp + (<usize>jr * k + <usize>pc * NR) * 4
        for (let ir = 0; ir < mc; ir += MR) {
          const h = min(MR, mc - ir)
          const aPanel = ap + <usize>ir * kc * 4
          const cTile = c + <usize>(ic + ir) * ldc + <usize>jr * 4
          if (h == MR && w == NR) micro(aPanel, bPanel, cTile, ldc, kc, accumulate)
          else edgeTile(aPanel, bPanel, cTile, ldc, kc, accumulate, h, w)
        }
      }
    }
  }
}
