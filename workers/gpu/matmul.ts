/**
 * Runs the WGSL matmul for one product on a device. The configuration (tile and workgroup size) comes from the
 * device's limits; the matrices are padded to whole tiles; the product is cut into dispatches (a band of rows, a
 * range of columns, a range of k, accumulating) sized so each runs for about DISPATCH_TARGET_MS: the first is small,
 * and each next one is sized from the throughput the previous ones reached. GPU watchdogs kill long dispatches (and
 * some drivers then return zeros), so none may run long, on a software adapter or a fast GPU alike. Progress is
 * reported after each dispatch completes on the GPU, and the governor's duty cycle is kept between dispatches. Every buffer
 * is destroyed before returning.
 */
import type { CpuKernelContext } from '../../workloads/types.ts'
import type { MatmulSpec } from '../../workloads/matmul/descriptor.ts'
import { chooseMatmulConfig, matmulProgram, matmulTile, type MatmulGpuConfig } from '../../workloads/matmul/kernel-wgsl.ts'
import { currentDuty, untilAllowed } from '../../workloads/yield.ts'
import { lostReason } from './device.ts'
import { getPipeline } from './pipelines.ts'

/** How long one dispatch should run: well under the ~50 ms at which watchdogs start to matter. */
export const DISPATCH_TARGET_MS = 20
/** The first dispatch's flops, before any throughput is known: ~35 ms on SwiftShader here (0.3 GFLOP/s), far less on a GPU. */
const FIRST_DISPATCH_FLOPS = 1e7
/** A dispatch is at most this many times larger than the previous one (a fast first one can be a fluke). */
const MAX_GROWTH = 4

export interface GpuMatmulOptions {
  /** Force a configuration (tests, benchmarks). @default chooseMatmulConfig(device.limits, m, n) */
  config?: MatmulGpuConfig
  /** Called after each dispatch with its size and GPU wall time (benchmarks, tests). */
  onDispatch?: (flops: number, ms: number) => void
  /** A fixed budget of flops per dispatch instead of the measured one (tests of the splitting). @default undefined */
  dispatchFlops?: number
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to

/** `src` (rows x cols, row-major) in a zeroed rows2 x cols2 array; `src` itself when no padding is needed. */
function padded(src: Float32Array, rows: number, cols: number, rows2: number, cols2: number): Float32Array {
  if (rows === rows2 && cols === cols2) return src
  const out = new Float32Array(rows2 * cols2)
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * cols, r * cols + cols), r * cols2)
  return out
}

/**
 * The extent of the dispatches of the next band of rows, for a budget of flops per dispatch: all of k and all the
 * columns when a band of `bm` rows fits the budget (then as many rows as fit), else fewer columns, else a part of k
 * (accumulated). Never below one tile (bm x bn x bk). Every extent is a multiple of its tile size.
 */
export function planBand(budget: number, rowsLeft: number, N: number, K: number, tile: { bm: number; bn: number; bk: number }): { rows: number; cols: number; kLen: number } {
  const { bm, bn, bk } = tile
  const kLen = Math.min(K, Math.max(bk, Math.floor(budget / (2 * bm * N) / bk) * bk))
  const cols = Math.min(N, Math.max(bn, Math.floor(budget / (2 * bm * kLen) / bn) * bn))
  const rows = Math.min(rowsLeft, Math.max(bm, Math.floor(budget / (2 * cols * kLen) / bm) * bm))
  return { rows, cols, kLen }
}

/** Computes C = A·B on `device`. Resolves undefined when cancelled. */
export async function matmulGpu(
  device: GPUDevice,
  spec: MatmulSpec,
  a: Float32Array,
  b: Float32Array,
  ctx: CpuKernelContext,
  options: GpuMatmulOptions = {},
): Promise<Float32Array | undefined> {
  const { m, n, k } = spec
  const config = options.config ?? chooseMatmulConfig(device.limits, m, n)
  const program = matmulProgram(config)
  const { bm, bn, bk } = matmulTile(config)
  const M = roundUp(m, bm)
  const N = roundUp(n, bn)
  const K = roundUp(k, bk)
  const largest = Math.max(M * K, K * N, M * N) * 4
  if (largest > device.limits.maxStorageBufferBindingSize || largest > device.limits.maxBufferSize) {
    throw new RangeError(`a ${m}x${n}x${k} product needs ${largest} bytes in one buffer; this GPU binds at most ${device.limits.maxStorageBufferBindingSize}`)
  }
  const pipeline = getPipeline(device, program)
  const buffers: GPUBuffer[] = []
  const make = (label: string, size: number, usage: GPUBufferUsageFlags) => {
    const buffer = device.createBuffer({ label: `${program.name}:${label}`, size: Math.max(16, size), usage })
    buffers.push(buffer)
    return buffer
  }
  try {
    const aBuf = make('a', M * K * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST)
    const bBuf = make('b', K * N * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST)
    const cBuf = make('c', M * N * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC)
    const params = make('params', 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST)
    device.queue.writeBuffer(aBuf, 0, padded(a, m, k, M, K) as Float32Array<ArrayBuffer>)
    device.queue.writeBuffer(bBuf, 0, padded(b, k, n, K, N) as Float32Array<ArrayBuffer>)
    const bindGroup = device.createBindGroup({
      label: `${program.name}:bind`,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: aBuf } },
        { binding: 1, resource: { buffer: bBuf } },
        { binding: 2, resource: { buffer: cBuf } },
        { binding: 3, resource: { buffer: params } },
      ],
    })

    const total = 2 * M * N * K
    let done = 0
    let budget = options.dispatchFlops ?? FIRST_DISPATCH_FLOPS
    // The governor's duty cycle, as CPU kernels follow it: below 1, the GPU rests in proportion to the work it just
    // did (at most 100 ms at a time); at 0, it waits until work is allowed again (or the task is cancelled).
    const rest = async (busyMs: number) => {
      const duty = currentDuty()
      if (duty >= 1) return
      if (duty <= 0) return untilAllowed(ctx.isCancelled)
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, (busyMs * (1 - duty)) / duty)))
    }

    const dispatch = async (row0: number, rows: number, col0: number, cols: number, k0: number, k1: number) => {
      device.queue.writeBuffer(params, 0, new Uint32Array([M, N, K, row0, col0, k0, k1, k0 > 0 ? 1 : 0]))
      const encoder = device.createCommandEncoder({ label: program.name })
      const pass = encoder.beginComputePass({ label: program.name })
      pass.setPipeline(pipeline)
      pass.setBindGroup(0, bindGroup)
      pass.dispatchWorkgroups(cols / bn, rows / bm)
      pass.end()
      const started = performance.now()
      device.queue.submit([encoder.finish()])
      await device.queue.onSubmittedWorkDone()
      const ms = performance.now() - started
      // A lost device completes nothing (and may answer at once): stop here, saying why.
      const lost = lostReason(device)
      if (lost !== undefined) throw new Error(`the GPU device was lost (${lost})`)
      const flops = 2 * rows * cols * (k1 - k0)
      options.onDispatch?.(flops, ms)
      // Size the next dispatch from this one's throughput, growing at most MAX_GROWTH times per step.
      if (options.dispatchFlops === undefined) budget = Math.min(budget * MAX_GROWTH, (flops / Math.max(ms, 0.05)) * DISPATCH_TARGET_MS)
      done += flops
      ctx.onProgress(done / total)
      await rest(ms)
    }

    // Rows go in bands; within a band, columns and then k are cut further only when a band of bm rows is too big.
    for (let row0 = 0; row0 < M; ) {
      const { rows, cols, kLen } = planBand(budget, M - row0, N, K, { bm, bn, bk })
      for (let col0 = 0; col0 < N; col0 += cols) {
        for (let k0 = 0; k0 < K; k0 += kLen) {
          if (ctx.isCancelled()) return undefined
          await dispatch(row0, rows, col0, Math.min(cols, N - col0), k0, Math.min(K, k0 + kLen))
        }
      }
      row0 += rows
    }

    const readBuf = make('read', M * N * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST)
    const encoder = device.createCommandEncoder({ label: `${program.name}:readback` })
    encoder.copyBufferToBuffer(cBuf, 0, readBuf, 0, M * N * 4)
    device.queue.submit([encoder.finish()])
    await readBuf.mapAsync(GPUMapMode.READ).catch((error: unknown) => {
      throw new Error(lostReason(device) !== undefined ? `the GPU device was lost (${lostReason(device)})` : `reading the product back failed: ${(error as Error)?.message ?? error}`)
    })
    const mapped = new Float32Array(readBuf.getMappedRange())
    const out = new Float32Array(m * n)
    if (N === n) out.set(mapped.subarray(0, m * n))
    else for (let r = 0; r < m; r++) out.set(mapped.subarray(r * N, r * N + n), r * n)
    readBuf.unmap()
    return out
  } finally {
    for (const buffer of buffers) buffer.destroy()
  }
}
