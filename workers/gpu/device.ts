/**
 * One GPUDevice per worker, created on first use. When the device is lost it is forgotten, so the next task asks for a
 * new one (the "recreated once" policy lives in the runtime that calls this).
 */
import type { GpuProbe } from '../protocol.ts'

let devicePromise: Promise<{ device: GPUDevice; adapter: GPUAdapter }> | undefined

function adapterName(adapter: GPUAdapter): string {
  const info = adapter.info
  const parts = [info.vendor, info.architecture, info.description].filter(Boolean)
  return parts.length ? parts.join(' ') : 'WebGPU adapter'
}

function isFallback(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }
  return Boolean(info.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter)
}

/** Describes the adapter this worker would use. */
export async function probeGpu(): Promise<GpuProbe> {
  if (!('gpu' in navigator) || !navigator.gpu) return { available: false, isFallbackAdapter: false, name: '', reason: 'this browser has no WebGPU' }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) return { available: false, isFallbackAdapter: false, name: '', reason: 'no WebGPU adapter was found' }
  return { available: true, isFallbackAdapter: isFallback(adapter), name: adapterName(adapter) }
}

/** The worker's device, requested on first use. */
export function getGpuDevice(): Promise<{ device: GPUDevice; adapter: GPUAdapter }> {
  devicePromise ??= (async () => {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' })
    if (!adapter) throw new Error('no WebGPU adapter was found')
    const device = await adapter.requestDevice({ label: 'meshwork-compute' })
    void device.lost.then(() => {
      devicePromise = undefined
    })
    return { device, adapter }
  })()
  devicePromise.catch(() => {
    devicePromise = undefined
  })
  return devicePromise
}
