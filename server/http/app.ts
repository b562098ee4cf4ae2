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
import { createStaticHandler } from './static.ts'

export interface CreateAppOptions {
  /** What the routes need, less the OpenAPI document (built here from the routes). */
  context: Omit<ApiContext, 'openapi'>
  ownerTokenHash: string
  /** Registers a device after its first valid signature; `address` is the caller's IP when known. */
  onDevice: (deviceId: string, address: string | undefined) => Promise<void>
  /** Folder of the built app. */
  staticDir: string
  log: (line: string) => void
}

export interface App {
  app: Hono
  /** The declared API routes (the OpenAPI document describes exactly these). */
  routes: AnyRoute[]
}

/** Builds the Hono app. */
export function createApp({ context, ownerTokenHash, onDevice, staticDir, log }: CreateAppOptions): App {
  let openapi: unknown
  const ctx: ApiContext = { ...context, openapi: () => (openapi ??= buildOpenApi(routes, { version: context.version })) }
  const routes = [...publicRoutes(ctx), ...volunteerRoutes(ctx), ...walletRoutes(ctx), ...ownerRoutes(ctx)]

  const app = new Hono()
  mountRoutes(app, routes, { ownerTokenHash, onDevice, now: context.now })
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
