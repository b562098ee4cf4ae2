/** Public endpoints: hub information, the API description and content-addressed blobs. */
import { z } from 'zod'
import { MeshworkError } from '../../../protocol/errors.ts'
import { P2PConfig } from '../../../protocol/p2p.ts'
import { CurrentWork, Hash, Health, HubConfig } from '../../../protocol/schemas.ts'
import { getWorkload, workloads } from '../../../workloads/registry.ts'
import { disabledP2PConfig, p2pConfig } from '../../p2p/p2p-config.ts'
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
      path: '/work/current',
      operationId: 'currentWork',
      summary: 'The job new units come from now',
      description:
        'So a volunteer sees what would run before pressing Start (the partner widget shows it): the oldest open job, ' +
        'which units are leased from first, with its workload\'s title and the owner\'s label; `job: null` when every job is done.',
      tag: 'hub',
      auth: 'public',
      response: { status: 200, description: 'The current job, or null.', json: CurrentWork },
      async handle({ c }) {
        const job = await ctx.store.currentJob()
        if (!job) return c.json({ job: null } satisfies CurrentWork)
        const title = getWorkload(job.workload)?.descriptor.title ?? job.workload
        return c.json({ job: { id: job.id, workload: job.workload, title, label: job.label } } satisfies CurrentWork)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/p2p',
      operationId: 'p2pConfig',
      summary: "How to join the hub's peer network",
      description:
        "The hub's libp2p peer id, the WebSocket multiaddrs to dial it on (each ending in /p2p/<peerId>), the announcement " +
        'topic, the blob protocol and the ICE servers for WebRTC. Without configured announce addresses the multiaddr host is ' +
        'the host this request was sent to. `enabled: false` when the hub runs without a peer network.',
      tag: 'hub',
      auth: 'public',
      response: { status: 200, description: 'Peer network settings.', json: P2PConfig },
      handle: ({ c }) => {
        const p2p = ctx.p2p()
        if (!p2p) return c.json(disabledP2PConfig())
        return c.json(
          p2pConfig({
            peerId: p2p.peerId,
            port: p2p.port,
            announce: p2p.announce,
            listening: p2p.multiaddrs(),
            iceServers: p2p.iceServers,
            hostHeader: c.req.header('host'),
          }) satisfies P2PConfig,
        )
      },
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
        const perHash = ctx.metrics.blobsByHash.get(params.hash)
        if (perHash) {
          perHash.served++
          perHash.bytes += bytes.byteLength
        } else {
          ctx.metrics.blobsByHash.set(params.hash, { served: 1, bytes: bytes.byteLength })
        }
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { ...cache, 'content-type': 'application/octet-stream' })
      },
    }),
  ]
}
