/**
 * Wire schemas for `/api/v1`, shared by the app, the workers and the hub. Every body that crosses a trust boundary is
 * parsed with one of these before anything else touches it. Workload-specific shapes (job parameters, unit specs)
 * live with their workload under `workloads/`.
 */
import { z } from 'zod'
import { MAX_BATCH_RESULTS, MAX_LEASE_UNITS } from './limits.ts'
import { PARTNER_ID_PATTERN, PARTNER_ID_RULE } from './widget.ts'

export const API_PREFIX = '/api/v1'

export const Backend = z.enum(['cpu', 'webgpu'])
export type Backend = z.infer<typeof Backend>

/** A content hash: lower-case hex SHA-256. */
export const Hash = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256 (64 characters)')

export const WorkloadId = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a workload id such as "matmul"')

export const UnitId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a unit id (1 to 64 of A-Z a-z 0-9 _ -)')
export const JobId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a job id (1 to 64 of A-Z a-z 0-9 _ -)')

/** The partner site whose widget the work was done through (see protocol/widget.ts). */
export const PartnerId = z.string().regex(PARTNER_ID_PATTERN, `must be a partner id (${PARTNER_ID_RULE})`)

export const ResultState = z.enum(['returned', 'valid', 'invalid'])
export type ResultState = z.infer<typeof ResultState>

// ---- volunteers ----

export const LeaseRequest = z.strictObject({
  max: z.int().min(1).max(MAX_LEASE_UNITS),
  backends: z.array(Backend).min(1).max(2),
  /** Set by a partner's widget: the units are leased through that partner's site, and their credit records it. */
  partner: PartnerId.optional(),
})
export type LeaseRequest = z.infer<typeof LeaseRequest>

export const LeasedUnit = z.object({
  unitId: UnitId,
  jobId: JobId,
  workload: WorkloadId,
  version: z.int().min(1),
  /** Workload-specific unit spec (validated again by the workload). */
  spec: z.record(z.string(), z.unknown()),
  /** Hashes of the input blobs, fetched from `GET /api/v1/blobs/{hash}`. */
  inputs: z.array(Hash).max(8),
  costFlops: z.number().nonnegative(),
  /** Lease deadline in ms since the epoch; a result after it may be refused if the unit was re-issued and done. */
  deadline: z.number(),
})
export type LeasedUnit = z.infer<typeof LeasedUnit>

export const LeaseResponse = z.object({
  units: z.array(LeasedUnit),
  /** Why no unit was leased when it is not simply that there is no work (the device's daily quota is used up). */
  reason: z.string().max(500).optional(),
})
export type LeaseResponse = z.infer<typeof LeaseResponse>

export const ResultSubmission = z.strictObject({
  /** Chosen by the client when the unit finishes; re-sending the same id is harmless. */
  resultId: z.uuid(),
  unitId: UnitId,
  /** The output bytes, base64 (the workload's output encoding says what they mean). */
  output: z.base64(),
  elapsedMs: z.int().min(0).max(7 * 24 * 3600 * 1000),
  backend: Backend,
  /** The partner the unit was leased through; when absent, the hub takes the one of this device's lease. */
  partner: PartnerId.optional(),
})
export type ResultSubmission = z.infer<typeof ResultSubmission>

export const SubmitAck = z.object({
  resultId: z.uuid(),
  state: ResultState,
  /** True when the hub already held this result: the re-send changed nothing. */
  duplicate: z.boolean(),
})
export type SubmitAck = z.infer<typeof SubmitAck>

/**
 * Several results in one request (`POST /results/batch`): the outbox uploads what waits together, so one signature,
 * one request and one commit serve them all. Result ids must differ; the whole body stays within the limit of one
 * result submission (a large result travels alone).
 */
export const ResultBatch = z.strictObject({
  results: z
    .array(ResultSubmission)
    .min(1)
    .max(MAX_BATCH_RESULTS)
    .refine((results) => new Set(results.map((r) => r.resultId)).size === results.length, 'each resultId may appear once per batch'),
})
export type ResultBatch = z.infer<typeof ResultBatch>

/** One result's answer in a batch: stored (as `SubmitAck`), or refused with the error a single submission would get. */
export const BatchItemAck = z.union([
  SubmitAck.extend({ ok: z.literal(true) }),
  z.object({ resultId: z.uuid(), ok: z.literal(false), code: z.string(), message: z.string() }),
])
export type BatchItemAck = z.infer<typeof BatchItemAck>

/** The answers to a batch, in its order. Every `ok` result is durably stored; a refused one stored nothing. */
export const BatchAck = z.object({ results: z.array(BatchItemAck) })
export type BatchAck = z.infer<typeof BatchAck>

export const VolunteerSummary = z.object({
  deviceId: z.string(),
  results: z.object({ returned: z.int(), valid: z.int(), invalid: z.int() }),
  /** Verified credit in floating-point operations (see README: 1 credit = 1 GFLOP = 1e9 flops). */
  creditFlops: z.number(),
  /** Verified results whose credit is still being written to the ledger (a moment after verification). */
  crediting: z.int(),
  /** What this device earned by serving input blobs to other volunteers over the peer network (part of creditFlops). */
  bandwidth: z.object({ servedBytes: z.number(), creditFlops: z.number() }),
})
export type VolunteerSummary = z.infer<typeof VolunteerSummary>

export const VolunteerResult = z.object({
  resultId: z.string(),
  unitId: z.string(),
  jobId: z.string(),
  workload: z.string(),
  state: ResultState,
  reason: z.string().nullable(),
  creditFlops: z.number(),
  backend: Backend,
  elapsedMs: z.int(),
  receivedAt: z.number(),
  validatedAt: z.number().nullable(),
})
export type VolunteerResult = z.infer<typeof VolunteerResult>

export const VolunteerResults = z.object({ results: z.array(VolunteerResult) })
export type VolunteerResults = z.infer<typeof VolunteerResults>

/** The hub's decision log for a device: what it decided about its leases, results and credit, and why. */
export const VolunteerDecisions = z.object({
  decisions: z.array(
    z.object({
      at: z.int(),
      /** `verdict`, `quorum`, `credit`, `quota`. */
      kind: z.string(),
      unitId: z.string().nullable(),
      resultId: z.string().nullable(),
      message: z.string(),
    }),
  ),
})
export type VolunteerDecisions = z.infer<typeof VolunteerDecisions>

export const CreditPoint = z.object({
  at: z.number(),
  creditFlops: z.number(),
  /** compute: a verified result; bandwidth: input bytes served to another volunteer. */
  kind: z.enum(['compute', 'bandwidth']),
})
export const CreditHistory = z.object({
  /** Ledger entries, oldest first; `creditFlops` is the amount of that entry. */
  entries: z.array(CreditPoint),
})
export type CreditHistory = z.infer<typeof CreditHistory>

// ---- job owners ----

export const JobState = z.enum(['open', 'done', 'error'])

export const CreateJobRequest = z.strictObject({
  workload: WorkloadId,
  label: z.string().min(1).max(200).optional(),
  /** Workload-specific parameters and inputs, validated by the workload's own schema. */
  params: z.record(z.string(), z.unknown()),
})
export type CreateJobRequest = z.infer<typeof CreateJobRequest>

export const JobProgress = z.object({
  id: JobId,
  workload: WorkloadId,
  label: z.string().nullable(),
  state: JobState,
  params: z.record(z.string(), z.unknown()),
  units: z.object({
    total: z.int(),
    unsent: z.int(),
    leased: z.int(),
    done: z.int(),
    /** Done without an answer: their replicas never agreed (counted in `done` too); the job's state is then `error`. */
    error: z.int(),
  }),
  createdAt: z.number(),
  completedAt: z.number().nullable(),
})
export type JobProgress = z.infer<typeof JobProgress>

export const JobList = z.object({ jobs: z.array(JobProgress) })

export const BlobUploadResponse = z.object({ hash: Hash, size: z.int() })

/** `GET /api/v1/partners` (job owner): verified work done through each partner's widget. */
export const PartnerReport = z.object({
  partners: z.array(
    z.object({
      partner: PartnerId,
      /** Verified units credited through this partner's widget. */
      units: z.int(),
      /** Their credit in flops (the sum of their ledger rows). */
      creditFlops: z.number(),
      /** Distinct devices (widget visitors) that earned it. */
      devices: z.int(),
    }),
  ),
})
export type PartnerReport = z.infer<typeof PartnerReport>

// ---- hub ----

export const Health = z.object({
  ok: z.literal(true),
  version: z.string(),
  store: z.string(),
  uptimeMs: z.number(),
})

export const HubConfig = z.object({
  version: z.string(),
  workloads: z.array(z.object({ id: WorkloadId, version: z.int(), title: z.string(), description: z.string() })),
  /** Unit of credit shown to volunteers. */
  credit: z.object({ unit: z.string(), flopsPerUnit: z.number() }),
})
export type HubConfig = z.infer<typeof HubConfig>

/** `GET /api/v1/work/current`: the job new units come from now, so a volunteer sees what runs before starting. */
export const CurrentWork = z.object({
  job: z
    .object({
      id: JobId,
      workload: WorkloadId,
      /** The workload's title, e.g. "Dense matrix multiply". */
      title: z.string(),
      /** The job owner's label, if the job has one. */
      label: z.string().nullable(),
    })
    .nullable(),
})
export type CurrentWork = z.infer<typeof CurrentWork>

/** `GET /api/v1/stats` (job owner): what the hub served over HTTP and the state of its peer network. */
export const HubStats = z.object({
  blobs: z.object({
    /** Blob requests answered with a body since the hub started. */
    served: z.int(),
    bytesServed: z.number(),
    /** The same counts per blob hash. */
    byHash: z.record(z.string(), z.object({ served: z.int(), bytes: z.number() })),
  }),
  p2p: z.object({
    enabled: z.boolean(),
    peerId: z.string(),
    /** Open libp2p connections and distinct connected peers. */
    connections: z.int(),
    peers: z.int(),
    /** Circuit relay reservations held now. */
    relayReservations: z.int(),
    /** Peers subscribed to the announcement topic. */
    topicPeers: z.int(),
    /** Announcements the hub validated: forwarded, rejected (invalid, not forwarded) and ignored (rate limit). */
    announcements: z.object({ accepted: z.int(), rejected: z.int(), ignored: z.int() }),
  }),
})
export type HubStats = z.infer<typeof HubStats>

export const WireErrorSchema = z.object({
  ok: z.literal(false),
  code: z.string(),
  message: z.string(),
  details: z.string().optional(),
})

/** Formats a zod error as one line naming each offending field, e.g. `max: Too big: expected number to be <=16`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ')
}
