/**
 * The WGSL matmul programs. Each workgroup computes a BM x BN tile of C, staging BK-deep slices of A and B in
 * workgroup memory; each thread keeps a TM x (4·TV) block of C in registers as vec4s and reads B and writes C as vec4s.
 * The runner (workers/gpu/matmul.ts) pads the matrices to whole tiles, so the shader has no bounds checks.
 *
 * After tfjs-backend-webgpu, one program per configuration: its name labels the pipeline (a WebGPU validation error
 * names the shader), its cache key identifies the compiled pipeline, and the configuration is chosen from the
 * device's limits (`chooseMatmulConfig`). Uniforms place each dispatch on a sub-rectangle of C and a k range, so the
 * runner can split a unit into dispatches short enough for GPU watchdogs, whatever its size.
 */

export interface GpuProgram {
  name: string
  /** Workgroup size (x, y). */
  workgroupSize: [number, number]
  cacheKey: string
  wgsl: string
}

export interface MatmulGpuConfig {
  /** Threads per workgroup along the columns (x) and the rows (y) of C. */
  wgX: number
  wgY: number
  /** Rows of C per thread. */
  tm: number
  /** vec4s of C per thread along a row (4·tv columns). */
  tv: number
  /** Depth of the A and B slices staged in workgroup memory (a multiple of 4). */
  bk: number
}

/** Tile sizes of a configuration: rows (bm) and columns (bn) of C per workgroup, k per stage (bk). */
export function matmulTile(config: MatmulGpuConfig): { bm: number; bn: number; bk: number } {
  return { bm: config.wgY * config.tm, bn: config.wgX * config.tv * 4, bk: config.bk }
}

/** Bytes of workgroup memory a configuration uses. */
export function workgroupBytes(config: MatmulGpuConfig): number {
  const { bm, bn, bk } = matmulTile(config)
  return bk * (bm + bn) * 4
}

/**
 * Configurations, best first: 128 x 128 tiles with 8 x 8 outputs per thread (256 invocations, 8 KiB of workgroup
 * memory: within WebGPU's guaranteed limits), then 64 x 64, then 32 x 32 with 64 invocations for devices below them.
 */
export const MATMUL_CONFIGS: readonly MatmulGpuConfig[] = [
  { wgX: 16, wgY: 16, tm: 8, tv: 2, bk: 8 },
  { wgX: 16, wgY: 16, tm: 4, tv: 1, bk: 16 },
  { wgX: 8, wgY: 8, tm: 4, tv: 1, bk: 16 },
]

/** The limits a configuration needs (GPUSupportedLimits or plain numbers). */
export interface ComputeLimits {
  maxComputeInvocationsPerWorkgroup: number
  maxComputeWorkgroupSizeX: number
  maxComputeWorkgroupSizeY: number
  maxComputeWorkgroupStorageSize: number
}

/**
 * The configuration for an m x n product on a device with `limits`: the first that fits the limits and whose tile is
 * not larger than the product in both dimensions (padding a small unit to 128 x 128 would waste most of the work).
 */
export function chooseMatmulConfig(limits: ComputeLimits, m: number, n: number): MatmulGpuConfig {
  const fits = MATMUL_CONFIGS.filter(
    (c) =>
      c.wgX * c.wgY <= limits.maxComputeInvocationsPerWorkgroup &&
      c.wgX <= limits.maxComputeWorkgroupSizeX &&
      c.wgY <= limits.maxComputeWorkgroupSizeY &&
      workgroupBytes(c) <= limits.maxComputeWorkgroupStorageSize,
  )
  if (!fits.length) throw new Error(`this GPU's compute limits are below every matmul configuration (${JSON.stringify(limits)})`)
  return fits.find((c) => matmulTile(c).bm <= m && matmulTile(c).bn <= n) ?? fits[fits.length - 1]
}

/** The program for a configuration. */
export function matmulProgram(config: MatmulGpuConfig): GpuProgram {
  const { wgX, wgY, tm, tv, bk } = config
  const { bm, bn } = matmulTile(config)
  const name = `matmul-vec4-${bm}x${bn}x${bk}-wg${wgX}x${wgY}`
  return {
    name,
    workgroupSize: [wgX, wgY],
    cacheKey: `${name}:v2`,
    wgsl: /* wgsl */ `
// C[rows, cols] (=|+=) A[rows, kStart..kEnd] · B[kStart..kEnd, cols] over padded row-major matrices.
struct Params { M: u32, N: u32, K: u32, rowOffset: u32, colOffset: u32, kStart: u32, kEnd: u32, accumulate: u32 }

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

const WX: u32 = ${wgX}u;
const WY: u32 = ${wgY}u;
const TM: u32 = ${tm}u;
const TV: u32 = ${tv}u;
const BM: u32 = ${bm}u;
const BN4: u32 = ${bn / 4}u;
const BK: u32 = ${bk}u;
const THREADS: u32 = ${wgX * wgY}u;

// A's slice transposed (k-major), so a thread reads its TM values of one k from one row of it.
var<workgroup> As: array<f32, ${bk * bm}>;
var<workgroup> Bs: array<vec4<f32>, ${bk * (bn / 4)}>;

@compute @workgroup_size(${wgX}, ${wgY})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tid = lid.y * WX + lid.x;
  let row0 = p.rowOffset + wid.y * BM;
  let col4 = p.colOffset / 4u + wid.x * BN4;
  let k4 = p.K / 4u;
  let n4 = p.N / 4u;
  var acc: array<array<vec4<f32>, ${tv}>, ${tm}>;
  for (var k0 = p.kStart; k0 < p.kEnd; k0 += BK) {
    for (var i = tid; i < BM * BK / 4u; i += THREADS) {
      let r = i / (BK / 4u);
      let v = i % (BK / 4u);
      let x = a[(row0 + r) * k4 + k0 / 4u + v];
      As[(v * 4u) * BM + r] = x.x;
      As[(v * 4u + 1u) * BM + r] = x.y;
      As[(v * 4u + 2u) * BM + r] = x.z;
      As[(v * 4u + 3u) * BM + r] = x.w;
    }
    for (var i = tid; i < BK * BN4; i += THREADS) {
      let kk = i / BN4;
      let v = i % BN4;
      Bs[kk * BN4 + v] = b[(k0 + kk) * n4 + col4 + v];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var bv: array<vec4<f32>, ${tv}>;
      for (var j = 0u; j < TV; j++) { bv[j] = Bs[kk * BN4 + lid.x + j * WX]; }
      for (var i = 0u; i < TM; i++) {
        let av = vec4<f32>(As[kk * BM + lid.y + i * WY]);
        for (var j = 0u; j < TV; j++) { acc[i][j] = fma(av, bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let rowBase = (row0 + lid.y + i * WY) * n4 + col4 + lid.x;
    for (var j = 0u; j < TV; j++) {
      let at = rowBase + j * WX;
      if (p.accumulate != 0u) { c[at] = c[at] + acc[i][j]; } else { c[at] = acc[i][j]; }
    }
  }
}
`,
  }
}
