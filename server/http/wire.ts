/** Store records in their wire shapes. */
import type { JobProgress } from '../../protocol/schemas.ts'
import type { JobRecord } from '../store/types.ts'

/** A job as `JobProgress`; units awaiting validation count as leased (handed out, not yet done). */
export function toJobProgress(job: JobRecord): JobProgress {
  return {
    id: job.id,
    workload: job.workload,
    label: job.label,
    state: job.state,
    params: job.params,
    units: { total: job.units.total, unsent: job.units.unsent, leased: job.units.leased + job.units.returned, done: job.units.done, error: job.units.error },
    createdAt: job.createdAt,
    completedAt: job.completedAt,
  }
}
