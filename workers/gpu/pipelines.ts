/** Compiled compute pipelines, cached by program key and labelled with the program's name. */
import type { GpuProgram } from '../../workloads/matmul/kernel-wgsl.ts'

const cache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>()

/** The pipeline for `program` on `device`, compiled on first use. */
export function getPipeline(device: GPUDevice, program: GpuProgram): GPUComputePipeline {
  let perDevice = cache.get(device)
  if (!perDevice) cache.set(device, (perDevice = new Map()))
  let pipeline = perDevice.get(program.cacheKey)
  if (!pipeline) {
    const module = device.createShaderModule({ label: program.name, code: program.wgsl })
    pipeline = device.createComputePipeline({ label: program.name, layout: 'auto', compute: { module, entryPoint: 'main' } })
    perDevice.set(program.cacheKey, pipeline)
  }
  return pipeline
}
