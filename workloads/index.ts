export { workloads, getWorkload } from './registry.ts'
export type { HubWorkload } from './registry.ts'
export type { Verdict, WorkloadDescriptor, GeneratedJob, GeneratedUnit, CpuKernelContext, ProgressCallback } from './types.ts'
