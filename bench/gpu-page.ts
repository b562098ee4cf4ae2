/** The WGSL matmul in a Chromium page, for bench/gpu.ts: whatever adapter this Chromium has (SwiftShader headless). */
import { requestComputeDevice } from '../workers/gpu/device.ts'
import { runGpuMatmul, type GpuRun } from './gpu-run.ts'

export interface GpuBenchApi {
  run(n: number, runs: number): Promise<(GpuRun & { adapter: string; software: boolean }) | { error: string }>
}

const api: GpuBenchApi = {
  async run(n, runs) {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' })
    if (!adapter) return { error: 'this Chromium has no WebGPU adapter' }
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }
    const device = await requestComputeDevice(adapter, 'meshwork-bench')
    try {
      const result = await runGpuMatmul(device, n, runs)
      const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'WebGPU adapter'
      return { ...result, adapter: name, software: Boolean(info.isFallbackAdapter) }
    } finally {
      device.destroy()
    }
  },
}
;(globalThis as unknown as { gpuBench: GpuBenchApi }).gpuBench = api
