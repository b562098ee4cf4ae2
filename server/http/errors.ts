/** HTTP status codes for the wire error codes, and the JSON error response every failure becomes. */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { MeshworkError, type ErrorCode } from '../../protocol/errors.ts'
import { hasUnreadBody } from './body.ts'

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  cancelled: 499 as ContentfulStatusCode,
  compute_failed: 422,
  network: 502,
  internal: 500,
}

/** The HTTP status for an error code. */
export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code]
}

/** Turns any thrown value into `{ ok: false, code, message }`; unexpected errors are logged and never leak a stack. */
export function errorResponse(c: Context, error: unknown, log: (line: string) => void): Response {
  // A rejection before the body was read (size, type, auth) ends the connection rather than reading megabytes of it.
  const headers: Record<string, string> = hasUnreadBody(c.req.raw) ? { connection: 'close' } : {}
  if (error instanceof MeshworkError) {
    if (error.code === 'internal' || error.code === 'unavailable') log(`${c.req.method} ${c.req.path}: ${describe(error)}`)
    if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)))
    return c.json(error.toWire(), statusOf(error.code), headers)
  }
  log(`${c.req.method} ${c.req.path} failed: ${describe(error)}`)
  const wire = new MeshworkError('The hub hit an internal error; it was logged. Try again later.', { code: 'internal' }).toWire()
  return c.json(wire, 500, headers)
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  let text = error.stack ?? error.message
  if (error.cause) text += `\n  caused by: ${describe(error.cause)}`
  return text
}
