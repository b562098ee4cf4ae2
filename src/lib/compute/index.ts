export { WorkerPool } from './pool.ts'
export type { RunHooks, TaskSplit, WorkerFactory } from './pool.ts'
export type { ComputeTask, ComputeOutcome, GpuProbe } from '../../../workers/protocol.ts'
