export { WorkerPool } from './pool.ts'
export type { RunHooks, WorkerFactory } from './pool.ts'
export type { ComputeTask, ComputeOutcome, GpuProbe } from '../../../workers/protocol.ts'
