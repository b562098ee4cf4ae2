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

/** Why each lost device was lost, by device (the runner names it in its error). */
const lostReasons = new WeakMap<GPUDevice, string>()

/** The reason `device` was lost, or undefined while it is live. */
export function lostReason(device: GPUDevice): string | undefined {
  return lostReasons.get(device)
}

/** The limits the matmul kernels use, raised to what the adapter allows (the defaults are WebGPU's minimums). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
] as const

/** A device for compute on `adapter`, with the limits above raised to the adapter's. */
export async function requestComputeDevice(adapter: GPUAdapter, label = 'meshwork-compute'): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {}
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name]
  const device = await adapter.requestDevice({ label, requiredLimits })
  void device.lost.then((info) => lostReasons.set(device, info.message || info.reason || 'unknown reason'))
  return device
}

/** The worker's device, requested on first use; a lost device is forgotten, so the next call creates a new one. */
export function getGpuDevice(): Promise<{ device: GPUDevice; adapter: GPUAdapter }> {
  const current = (devicePromise ??= (async () => {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' })
    if (!adapter) throw new Error('no WebGPU adapter was found')
    const device = await requestComputeDevice(adapter)
    void device.lost.then(() => {
      if (devicePromise === current) devicePromise = undefined
    })
    return { device, adapter }
  })())
  current.catch(() => {
    if (devicePromise === current) devicePromise = undefined
  })
  return current
}
