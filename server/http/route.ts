/**
 * API routes are declared as data: method, path, who may call it, the schemas of its path, query and body, and what
 * it returns. One declaration drives both the request pipeline (auth, content type, size limit, schema, in that order,
 * before the handler sees anything) and the OpenAPI document, so the two cannot drift apart.
 */
import type { Context, Hono } from 'hono'
import type { z } from 'zod'
import { MeshworkError } from '../../protocol/errors.ts'
import { API_PREFIX } from '../../protocol/schemas.ts'
import { parseJsonBody, parseWith, readBody } from './body.ts'
import { readDeviceHeaders, verifyDeviceSignature } from './device-auth.ts'
import { checkOwnerToken } from '../owner-token.ts'
import { networkOf } from '../receipts/network.ts'
import { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimits } from './rate-limit.ts'

/** `public`: anyone; `device`: a volunteer's signed request; `owner`: the job owner's bearer token. */
export type RouteAuth = 'public' | 'device' | 'owner'

export type RouteBody<B> =
  | { kind: 'json'; schema: z.ZodType<B>; limit: number }
  | { kind: 'binary'; contentType: 'application/octet-stream'; limit: number }

export interface RouteResponse {
  status: 200 | 201
  description: string
  /** JSON body schema; absent for binary responses. */
  json?: z.ZodType
  /** Media type of a binary response. */
  binary?: string
  headers?: Record<string, string>
}

export interface RouteInput<B, Q, P> {
  c: Context
  /** The parsed JSON body (undefined without a JSON body). */
  body: B
  /** The raw body bytes (empty without a body). */
  raw: Uint8Array
  query: Q
  params: P
  /** The authenticated device, for `device` routes; empty otherwise. */
  deviceId: string
}

export interface RouteDefinition<B = unknown, Q = unknown, P = unknown> {
  method: 'GET' | 'POST' | 'PUT'
  /** Path below `/api/v1`, with OpenAPI-style parameters: `/jobs/{id}`. */
  path: string
  operationId: string
  summary: string
  description?: string
  tag: 'hub' | 'volunteer' | 'wallet' | 'owner' | 'blobs'
  auth: RouteAuth
  params?: z.ZodType<P>
  query?: z.ZodType<Q>
  body?: RouteBody<B>
  response: RouteResponse
  /** Error statuses this route can answer with besides those its auth and body imply. */
  errors?: number[]
  handle(input: RouteInput<B, Q, P>): Response | Promise<Response>
}

// `any`: routes with different body, query and path types share one array; `defineRoute` checked each one.
export type AnyRoute = RouteDefinition<any, any, any>

/** Declares a route with its handler's input types inferred from its schemas. */
export function defineRoute<B = undefined, Q = undefined, P = undefined>(route: RouteDefinition<B, Q, P>): AnyRoute {
  return route as AnyRoute
}

/** The Hono path of a route: `/api/v1/jobs/:id`. */
export function honoPath(route: AnyRoute): string {
  return API_PREFIX + route.path.replace(/\{(\w+)\}/g, ':$1')
}

export interface MountRoutesOptions {
  ownerTokenHash: string
  /** Called after each valid device signature (registers the device); `address` is the caller's IP when known. */
  onDevice: (deviceId: string, address: string | undefined) => Promise<void>
  /** @default Date.now */
  now?: () => number
  /** Limits on public and volunteer requests per network and per device. @default DEFAULT_RATE_LIMITS */
  rateLimits?: RateLimits
  /** Called on each request refused by a rate limit. */
  onRateLimited?: (limit: 'device' | 'network') => void
  /**
   * The hub runs behind a reverse proxy that appends the client's address to `X-Forwarded-For`: the last entry is the
   * caller's address (rate limits, independence of replicas and receipts). Never set it on a hub reachable directly:
   * anyone could then claim any address. @default false
   */
  trustProxy?: boolean
}

const EMPTY = new Uint8Array()

/** Registers routes on a Hono app, each behind the request pipeline. */
export function mountRoutes(app: Hono, routes: AnyRoute[], options: MountRoutesOptions): void {
  const { ownerTokenHash, onDevice, now = Date.now, rateLimits = DEFAULT_RATE_LIMITS, onRateLimited, trustProxy = false } = options
  const remoteAddress = (c: Context) => callerAddress(c, trustProxy)
  const perNetwork = new RateLimiter(rateLimits.network, 'this network', () => onRateLimited?.('network'))
  const perDevice = new RateLimiter(rateLimits.device, 'this device', () => onRateLimited?.('device'))
  for (const route of routes) {
    const what = `${route.method} ${API_PREFIX}${route.path}`
    app.on(route.method, honoPath(route), async (c) => {
      // The cheapest check first: a flood is refused before its body is read or its signature checked.
      if (route.auth !== 'owner') perNetwork.take(networkOf(remoteAddress(c)) ?? 'unknown', now())
      if (route.auth === 'owner' && !checkOwnerToken(ownerTokenHash, c.req.header('authorization'))) {
        throw new MeshworkError(`${what} needs the job owner's token: send "Authorization: Bearer <MESHWORK_API_TOKEN>".`, {
          code: 'unauthorized',
        })
      }
      const device = route.auth === 'device' ? readDeviceHeaders(c.req.raw.headers, now()) : undefined
      const params = route.params ? parseWith(route.params, c.req.param()) : undefined
      const query = route.query ? parseWith(route.query, c.req.query()) : undefined
      const raw = route.body
        ? await readBody(c.req.raw, {
            limit: route.body.limit,
            contentType: route.body.kind === 'json' ? 'application/json' : route.body.contentType,
            what,
          })
        : EMPTY
      if (device) await verifyDeviceSignature(device, { method: c.req.method, path: pathAsSent(c), body: raw })
      if (device) perDevice.take(device.deviceId, now())
      const body = route.body?.kind === 'json' ? parseJsonBody(raw, route.body.schema, what) : undefined
      // Registered only once a request passed every check, so a rejected request stores nothing.
      if (device) await onDevice(device.deviceId, remoteAddress(c))
      return route.handle({ c, body, raw, query, params, deviceId: device?.deviceId ?? '' })
    })
  }
}

/**
 * The caller's IP: the socket's, or behind a trusted proxy the last `X-Forwarded-For` entry (the one the proxy
 * appended); undefined outside a Node server.
 */
function callerAddress(c: Context, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
    if (forwarded) return forwarded
  }
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
}

/** The request target exactly as the client sent it (the signature covers it byte for byte). */
function pathAsSent(c: Context): string {
  const incoming = (c.env as { incoming?: { url?: string } } | undefined)?.incoming
  if (incoming?.url) return incoming.url
  const url = new URL(c.req.url)
  return url.pathname + url.search
}
