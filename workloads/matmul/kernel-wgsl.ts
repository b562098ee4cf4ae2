/**
 * The WGSL matmul program: 16 x 16 output tiles staged through workgroup memory. One program per file, after
 * tfjs-backend-webgpu: its name labels the pipeline (so a WebGPU validation error names this shader), its cache key
 * identifies the compiled pipeline, and `rowOffset` lets the runner split a unit into row bands so no single dispatch
 * runs long enough to trip a GPU watchdog.
 */
export const TILE = 16

export interface GpuProgram {
  name: string
  /** Workgroup size (x, y). */
  workgroupSize: [number, number]
  cacheKey: string
  wgsl: string
}

export const matmulProgram: GpuProgram = {
  name: 'matmul-tiled-16x16',
  workgroupSize: [TILE, TILE],
  cacheKey: `matmul-tiled:${TILE}x${TILE}:v1`,
  wgsl: /* wgsl */ `
struct Dims { m: u32, n: u32, k: u32, rowOffset: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

const T: u32 = ${TILE}u;
var<workgroup> tileA: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> tileB: array<array<f32, ${TILE}>, ${TILE}>;

@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let row = dims.rowOffset + wid.y * T + lid.y;
  let col = wid.x * T + lid.x;
  var acc = 0.0;
  let steps = (dims.k + T - 1u) / T;
  for (var t = 0u; t < steps; t++) {
    let ak = t * T + lid.x;
    var av = 0.0;
    if (row < dims.m && ak < dims.k) { av = a[row * dims.k + ak]; }
    tileA[lid.y][lid.x] = av;
    let bk = t * T + lid.y;
    var bv = 0.0;
    if (bk < dims.k && col < dims.n) { bv = b[bk * dims.n + col]; }
    tileB[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var p = 0u; p < T; p++) {
      acc = fma(tileA[lid.y][p], tileB[p][lid.x], acc);
    }
    workgroupBarrier();
  }
  if (row < dims.m && col < dims.n) {
    c[row * dims.n + col] = acc;
  }
}
`,
}
