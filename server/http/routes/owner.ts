/** Job owner endpoints, behind the owner's bearer token. */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { MeshworkError } from '../../../protocol/errors.ts'
import { MAX_BLOB_UPLOAD_BYTES, MAX_JSON_BODY_BYTES } from '../../../protocol/limits.ts'
import { BlobUploadResponse, CreateJobRequest, HubStats, JobId, JobList, JobProgress, PartnerReport } from '../../../protocol/schemas.ts'
import { getWorkload } from '../../../workloads/registry.ts'
import { createJob } from '../../create-job.ts'
import type { ApiContext } from '../context.ts'
import { defineRoute, type AnyRoute } from '../route.ts'
import { toJobProgress } from '../wire.ts'

/** Most jobs `GET /jobs` lists (the newest). */
export const JOB_LIST_LIMIT = 500

const JobParams = z.object({ id: JobId.describe('The job id.') })
type JobParams = z.infer<typeof JobParams>

/** The job owner routes. */
export function ownerRoutes(ctx: ApiContext): AnyRoute[] {
  const jobOrThrow = async (id: string) => {
    const job = await ctx.store.getJob(id)
    if (!job) throw new MeshworkError(`Job ${id} does not exist.`, { code: 'not_found' })
    return job
  }
  return [
    defineRoute({
      method: 'PUT',
      path: '/blobs',
      operationId: 'uploadBlob',
      summary: 'Upload an input blob',
      description: 'The raw bytes; answers with their SHA-256, which job params refer to. Uploading the same bytes twice is harmless.',
      tag: 'owner',
      auth: 'owner',
      body: { kind: 'binary', contentType: 'application/octet-stream', limit: MAX_BLOB_UPLOAD_BYTES },
      response: { status: 200, description: 'The blob is stored.', json: BlobUploadResponse },
      errors: [400],
      async handle({ c, raw }) {
        // No workload reads an empty input; storing one would only leave a blob nothing can use.
        if (raw.byteLength === 0) throw new MeshworkError('PUT /api/v1/blobs got an empty body: send the blob\'s bytes.', { code: 'bad_request' })
        const hash = createHash('sha256').update(raw).digest('hex')
        await ctx.store.putBlob(hash, raw)
        return c.json({ hash, size: raw.byteLength } satisfies z.infer<typeof BlobUploadResponse>)
      },
    }),
    defineRoute<CreateJobRequest>({
      method: 'POST',
      path: '/jobs',
      operationId: 'createJob',
      summary: 'Create a job',
      description:
        'Validates `params` with the workload\'s schema (see components.schemas.<workload>Params), splits the job into units and stores it in one transaction.',
      tag: 'owner',
      auth: 'owner',
      body: { kind: 'json', schema: CreateJobRequest, limit: MAX_JSON_BODY_BYTES },
      response: { status: 201, description: 'The job was created.', json: JobProgress },
      async handle({ c, body }) {
        const job = await createJob(ctx.store, { request: body, now: ctx.now(), spotCheckFraction: ctx.verification.spotCheckFraction })
        return c.json(toJobProgress(job), 201)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/jobs',
      operationId: 'listJobs',
      summary: 'List jobs, newest first',
      description: `At most the newest ${JOB_LIST_LIMIT}.`,
      tag: 'owner',
      auth: 'owner',
      response: { status: 200, description: 'Jobs.', json: JobList },
      async handle({ c }) {
        const jobs = await ctx.store.listJobs(JOB_LIST_LIMIT)
        return c.json({ jobs: jobs.map(toJobProgress) } satisfies z.infer<typeof JobList>)
      },
    }),
    defineRoute<undefined, undefined, JobParams>({
      method: 'GET',
      path: '/jobs/{id}',
      operationId: 'getJob',
      summary: "A job's progress",
      tag: 'owner',
      auth: 'owner',
      params: JobParams,
      response: { status: 200, description: 'The job.', json: JobProgress },
      errors: [404],
      async handle({ c, params }) {
        return c.json(toJobProgress(await jobOrThrow(params.id)))
      },
    }),
    defineRoute<undefined, undefined, JobParams>({
      method: 'GET',
      path: '/jobs/{id}/output',
      operationId: 'getJobOutput',
      summary: "A finished job's output",
      description: 'For matmul, the full C (m x n f32, little-endian, row-major). 409 while units remain.',
      tag: 'owner',
      auth: 'owner',
      params: JobParams,
      response: { status: 200, description: 'The output bytes.', binary: 'application/octet-stream' },
      errors: [404, 409],
      async handle({ c, params }) {
        const job = await jobOrThrow(params.id)
        const workload = getWorkload(job.workload)
        if (!workload?.assemble) {
          throw new MeshworkError(`Workload "${job.workload}" of job ${job.id} has no assembled output.`, { code: 'not_found' })
        }
        const remaining = job.units.total - job.units.done
        if (job.state !== 'done' || remaining > 0) {
          throw new MeshworkError(`Job ${job.id} is not done: ${remaining} of ${job.units.total} units remain.`, { code: 'conflict' })
        }
        const outputs = await ctx.store.jobOutputs(job.id)
        const missing = outputs.findIndex((o) => !o)
        if (missing >= 0 || outputs.length !== job.units.total) {
          throw new MeshworkError(`Job ${job.id} is done but unit ${missing} has no stored output.`, { code: 'internal' })
        }
        const bytes = workload.assemble(job.params, outputs as Uint8Array[])
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' })
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/partners',
      operationId: 'partnerReport',
      summary: 'Verified work done through each partner site\'s widget',
      description:
        'One row per partner id that partner widgets sent with their leases and results: the verified (credited) units, ' +
        'their credit in flops and the distinct devices that earned it, most credit first. Work done in the app itself ' +
        'has no partner and is not listed.',
      tag: 'owner',
      auth: 'owner',
      response: { status: 200, description: 'Totals per partner.', json: PartnerReport },
      async handle({ c }) {
        return c.json({ partners: await ctx.store.partnerTotals() } satisfies PartnerReport)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/stats',
      operationId: 'hubStats',
      summary: 'What the hub served and the state of its peer network',
      description:
        'Blob bodies served over HTTP since the hub started, in total and per hash (how much of the input traffic peers took ' +
        'off the hub), and the libp2p node: connections, relay reservations, announcement validation counts.',
      tag: 'owner',
      auth: 'owner',
      response: { status: 200, description: 'Counters since the hub started.', json: HubStats },
      handle({ c }) {
        const { metrics } = ctx
        const p2p = ctx.p2p()
        const peer = p2p?.stats()
        return c.json({
          blobs: {
            served: metrics.blobsServed,
            bytesServed: metrics.blobBytesServed,
            byHash: Object.fromEntries([...metrics.blobsByHash].map(([hash, { served, bytes }]) => [hash, { served, bytes }])),
          },
          p2p: {
            enabled: p2p !== undefined,
            peerId: p2p?.peerId ?? '',
            connections: peer?.connections ?? 0,
            peers: peer?.peers ?? 0,
            relayReservations: peer?.relayReservations ?? 0,
            topicPeers: peer?.topicPeers ?? 0,
            announcements: peer?.announcements ?? { accepted: 0, rejected: 0, ignored: 0 },
          },
        } satisfies HubStats)
      },
    }),
  ]
}
