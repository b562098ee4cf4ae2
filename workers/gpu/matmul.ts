/**
 * Runs the matmul WGSL program for one unit. The unit is split into row bands so no single dispatch runs long
 * (GPU watchdogs kill long dispatches); progress is reported after each band completes on the GPU. Every buffer
 * created here is destroyed before returning, on success or failure.
 */
import type { CpuKernelContext } from '../../workloads/types.ts'
import type { MatmulSpec } from '../../workloads/matmul/descriptor.ts'
import { matmulProgram, TILE } from '../../workloads/matmul/kernel-wgsl.ts'
import { getPipeline } from './pipelines.ts'

/** Flops per dispatch: ~50 ms even on a slow (software) adapter at ~1 GFLOP/s. */
const FLOPS_PER_DISPATCH = 5e7

/** Computes C = A·B on `device`. Resolves undefined when cancelled. */
export async function matmulGpu(
  device: GPUDevice,
  spec: MatmulSpec,
  a: Float32Array,
  b: Float32Array,
  ctx: CpuKernelContext,
): Promise<Float32Array | undefined> {
  const { m, n, k } = spec
  const pipeline = getPipeline(device, matmulProgram)
  const buffers: GPUBuffer[] = []
  const make = (label: string, size: number, usage: GPUBufferUsageFlags) => {
    const buffer = device.createBuffer({ label: `${matmulProgram.name}:${label}`, size: Math.max(16, size), usage })
    buffers.push(buffer)
    return buffer
  }
  try {
    const aBuf = make('a', a.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST)
    const bBuf = make('b', b.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST)
    const cBuf = make('c', m * n * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC)
    const readBuf = make('read', m * n * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST)
    device.queue.writeBuffer(aBuf, 0, a as Float32Array<ArrayBuffer>)
    device.queue.writeBuffer(bBuf, 0, b as Float32Array<ArrayBuffer>)

    const bandRows = Math.max(TILE, Math.floor(FLOPS_PER_DISPATCH / (2 * n * k) / TILE) * TILE)
    for (let row0 = 0; row0 < m; row0 += bandRows) {
      if (ctx.isCancelled()) return undefined
      const rows = Math.min(bandRows, m - row0)
      const dims = make('dims', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST)
      device.queue.writeBuffer(dims, 0, new Uint32Array([m, n, k, row0]))
      const bindGroup = device.createBindGroup({
        label: `${matmulProgram.name}:bind`,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: aBuf } },
          { binding: 1, resource: { buffer: bBuf } },
          { binding: 2, resource: { buffer: cBuf } },
          { binding: 3, resource: { buffer: dims } },
        ],
      })
      const encoder = device.createCommandEncoder({ label: matmulProgram.name })
      const pass = encoder.beginComputePass({ label: matmulProgram.name })
      pass.setPipeline(pipeline)
      pass.setBindGroup(0, bindGroup)
      pass.dispatchWorkgroups(Math.ceil(n / TILE), Math.ceil(rows / TILE))
      pass.end()
      device.queue.submit([encoder.finish()])
      await device.queue.onSubmittedWorkDone()
      ctx.onProgress(Math.min(m, row0 + rows) / m)
    }
    const encoder = device.createCommandEncoder({ label: `${matmulProgram.name}:readback` })
    encoder.copyBufferToBuffer(cBuf, 0, readBuf, 0, m * n * 4)
    device.queue.submit([encoder.finish()])
    await readBuf.mapAsync(GPUMapMode.READ)
    const out = new Float32Array(readBuf.getMappedRange().slice(0))
    readBuf.unmap()
    return out
  } finally {
    for (const buffer of buffers) buffer.destroy()
  }
}
