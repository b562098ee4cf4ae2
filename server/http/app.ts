/**
 * The hub's HTTP app: the API routes under /api/v1 behind the request pipeline, JSON errors everywhere under /api
 * (including unknown paths and internal failures), and the built PWA at `/`.
 */
import { Hono } from 'hono'
import { MeshworkError } from '../../protocol/errors.ts'
import type { ApiContext } from './context.ts'
import { errorResponse } from './errors.ts'
import { buildOpenApi } from './openapi.ts'
import { mountRoutes, type AnyRoute } from './route.ts'
import { ownerRoutes } from './routes/owner.ts'
import { publicRoutes } from './routes/public.ts'
import { volunteerRoutes } from './routes/volunteer.ts'
import { walletRoutes } from './routes/wallet.ts'
import { securityHeaders, type SecurityHeaderOptions } from './security-headers.ts'
import { createStaticHandler } from './static.ts'
import { checkOwnerToken } from '../owner-token.ts'

export interface CreateAppOptions {
  /** What the routes need, less the OpenAPI document (built here from the routes). */
  context: Omit<ApiContext, 'openapi'>
  ownerTokenHash: string
  /** Registers a device after its first valid signature; `address` is the caller's IP when known. */
  onDevice: (deviceId: string, address: string | undefined) => Promise<void>
  /** Folder of the built app. */
  staticDir: string
  log: (line: string) => void
  /** The hub's Prometheus metrics, served at /metrics to the owner's token. @default undefined (no /metrics) */
  prometheus?: import('../metrics.ts').HubPrometheus
  /** Limits on public and volunteer requests. @default DEFAULT_RATE_LIMITS (server/http/rate-limit.ts) */
  rateLimits?: import('./rate-limit.ts').RateLimits
  /** What the Content-Security-Policy must allow besides the hub itself, and whether it serves HTTPS. @default {} */
  security?: SecurityHeaderOptions
  /** Take the caller's address from `X-Forwarded-For` (see MountRoutesOptions.trustProxy). @default false */
  trustProxy?: boolean
}

export interface App {
  app: Hono
  /** The declared API routes (the OpenAPI document describes exactly these). */
  routes: AnyRoute[]
}

/** Builds the Hono app. */
export function createApp({ context, ownerTokenHash, onDevice, staticDir, log, security = {}, rateLimits, prometheus, trustProxy }: CreateAppOptions): App {
  let openapi: unknown
  const ctx: ApiContext = { ...context, openapi: () => (openapi ??= buildOpenApi(routes, { version: context.version })) }
  const routes = [...publicRoutes(ctx), ...volunteerRoutes(ctx), ...walletRoutes(ctx), ...ownerRoutes(ctx)]

  const app = new Hono()
  app.use('*', securityHeaders(security))
  if (prometheus) {
    app.use('/api/*', async (c, next) => {
      const started = performance.now()
      await next()
      // The route's pattern (/api/v1/jobs/:id), never the raw path: one series per route, not per id.
      const route = c.req.routePath === '/api/*' ? 'unmatched' : c.req.routePath
      prometheus.httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, (performance.now() - started) / 1000)
    })
    app.get('/metrics', async (c) => {
      if (!checkOwnerToken(ownerTokenHash, c.req.header('authorization'))) {
        throw new MeshworkError('/metrics needs the job owner\'s token: send "Authorization: Bearer <MESHWORK_API_TOKEN>".', { code: 'unauthorized' })
      }
      return c.body(await prometheus.registry.metrics(), 200, { 'content-type': prometheus.registry.contentType })
    })
  }
  mountRoutes(app, routes, {
    ownerTokenHash,
    onDevice,
    now: context.now,
    ...(trustProxy ? { trustProxy } : {}),
    ...(rateLimits ? { rateLimits } : {}),
    ...(prometheus ? { onRateLimited: (limit: 'device' | 'network') => prometheus.rateLimited.inc({ limit }) } : {}),
  })
  const unknownApi = (c: { req: { method: string; path: string } }) => {
    throw new MeshworkError(`No API route ${c.req.method} ${c.req.path}; see /api/v1/openapi.json.`, { code: 'not_found' })
  }
  app.all('/api', unknownApi)
  app.all('/api/*', unknownApi)
  app.get('*', createStaticHandler(staticDir))
  app.notFound((c) => c.json(new MeshworkError(`Nothing at ${c.req.method} ${c.req.path}.`, { code: 'not_found' }).toWire(), 404))
  app.onError((error, c) => errorResponse(c, error, log))
  return { app, routes }
}
