/**
 * WebGPU in Node through Dawn (the `webgpu` package, the implementation inside Chromium): the WGSL kernels' tests run
 * on SwiftShader with it, and `npm run bench gpu` runs them on a real GPU where Chromium cannot go (the lent GPU
 * machine). SwiftShader's Vulkan driver comes with Debian's Chromium; the Vulkan loader is Debian's libvulkan1.
 */
import { existsSync } from 'node:fs'

/** SwiftShader's Vulkan driver, as Debian's chromium package installs it. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json'

let instance: GPU | undefined

/**
 * A GPU adapter from Dawn, or undefined with the reason. `software` points the Vulkan loader at SwiftShader alone (a
 * machine without a GPU, or tests); otherwise Dawn takes the first adapter the system's drivers offer.
 */
export async function dawnAdapter(software: boolean): Promise<{ adapter: GPUAdapter; gpu: GPU } | { reason: string }> {
  if (software) {
    if (!existsSync(SWIFTSHADER_ICD)) return { reason: `SwiftShader's Vulkan driver is missing (${SWIFTSHADER_ICD}: install chromium)` }
    // Read by the Vulkan loader when Dawn creates its instance, below.
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD
  }
  let webgpu: typeof import('webgpu')
  try {
    webgpu = await import('webgpu')
  } catch (error) {
    return { reason: `the webgpu package did not load (${(error as Error).message})` }
  }
  Object.assign(globalThis, webgpu.globals)
  // Dawn lives as long as this object does: kept for the process, since adapters and devices outlive the caller's
  // reference (collecting it under a live device crashes the process).
  const gpu = (instance ??= webgpu.create([]) as GPU)
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) return { reason: software ? 'Dawn found no SwiftShader adapter (is libvulkan1 installed?)' : 'Dawn found no GPU adapter' }
  return { adapter, gpu }
}
