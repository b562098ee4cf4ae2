/** Public endpoints: hub information, the API description and content-addressed blobs. */
import { z } from 'zod'
import { MeshworkError } from '../../../protocol/errors.ts'
import { Hash, Health, HubConfig } from '../../../protocol/schemas.ts'
import { workloads } from '../../../workloads/registry.ts'
import type { ApiContext } from '../context.ts'
import { defineRoute, type AnyRoute } from '../route.ts'

/** 1 credit shown to volunteers = 1 GFLOP of verified work. */
export const CREDIT_UNIT = { unit: 'GFLOP', flopsPerUnit: 1e9 }

const BlobParams = z.object({ hash: Hash.describe('SHA-256 hex of the blob.') })

/** The public routes. */
export function publicRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/health',
      operationId: 'health',
      summary: 'Whether the hub is up',
      tag: 'hub',
      auth: 'public',
      response: { status: 200, description: 'The hub is up.', json: Health },
      handle: ({ c }) =>
        c.json({ ok: true, version: ctx.version, store: ctx.store.kind, uptimeMs: ctx.now() - ctx.startedAt } satisfies z.infer<typeof Health>),
    }),
    defineRoute({
      method: 'GET',
      path: '/config',
      operationId: 'config',
      summary: 'Workloads this hub runs and the credit unit',
      tag: 'hub',
      auth: 'public',
      response: { status: 200, description: 'Hub configuration.', json: HubConfig },
      handle: ({ c }) =>
        c.json({
          version: ctx.version,
          workloads: [...workloads.values()].map(({ descriptor: d }) => ({ id: d.id, version: d.version, title: d.title, description: d.description })),
          credit: CREDIT_UNIT,
        } satisfies HubConfig),
    }),
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API, described in OpenAPI 3.1',
      tag: 'hub',
      auth: 'public',
      response: { status: 200, description: 'The OpenAPI document.', json: z.record(z.string(), z.unknown()) },
      handle: ({ c }) => c.json(ctx.openapi() as Record<string, unknown>),
    }),
    defineRoute<undefined, undefined, z.infer<typeof BlobParams>>({
      method: 'GET',
      path: '/blobs/{hash}',
      operationId: 'getBlob',
      summary: 'Download an input blob by its hash',
      description: 'Content-addressed, so responses are immutable and cacheable forever. Answers 304 to a matching If-None-Match.',
      tag: 'blobs',
      auth: 'public',
      params: BlobParams,
      response: {
        status: 200,
        description: 'The blob bytes.',
        binary: 'application/octet-stream',
        headers: { ETag: 'The hash, quoted.', 'Cache-Control': 'public, max-age=31536000, immutable' },
      },
      errors: [404],
      async handle({ c, params }) {
        const etag = `"${params.hash}"`
        const cache = { etag, 'cache-control': 'public, max-age=31536000, immutable' }
        const bytes = await ctx.blobs.get(params.hash)
        if (!bytes) throw new MeshworkError(`Blob ${params.hash} is not stored on this hub.`, { code: 'not_found' })
        if (c.req.header('if-none-match')?.split(',').some((tag) => tag.trim() === etag)) return c.body(null, 304, cache)
        ctx.metrics.blobBytesServed += bytes.byteLength
        ctx.metrics.blobsServed++
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { ...cache, 'content-type': 'application/octet-stream' })
      },
    }),
  ]
}
