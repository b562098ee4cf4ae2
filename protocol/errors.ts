/**
 * One error base for every part of Meshwork, after viem's `BaseError`: a short message that names the thing that was
 * wrong, optional details, a stable `code` that travels over the wire and the worker boundary, and whether retrying
 * later can help (`transient`).
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'cancelled'
  | 'compute_failed'
  | 'network'
  | 'internal'

export interface MeshworkErrorOptions {
  code: ErrorCode
  details?: string
  cause?: unknown
  /** Whether the same operation may succeed later. @default false */
  transient?: boolean
  /** When to try again, in ms (a 429's Retry-After). @default undefined */
  retryAfterMs?: number
}

export class MeshworkError extends Error {
  override name = 'MeshworkError'
  readonly code: ErrorCode
  readonly shortMessage: string
  readonly details: string | undefined
  readonly transient: boolean
  readonly retryAfterMs: number | undefined

  constructor(shortMessage: string, options: MeshworkErrorOptions) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, { cause: options.cause })
    this.shortMessage = shortMessage
    this.code = options.code
    this.details = options.details
    this.transient = options.transient ?? false
    this.retryAfterMs = options.retryAfterMs
  }

  /** The error as data, for the wire (`{ ok: false, code, message }`). */
  toWire(): WireError {
    return { ok: false, code: this.code, message: this.shortMessage, ...(this.details ? { details: this.details } : {}) }
  }
}

/** An error as it travels over HTTP, postMessage or a peer stream. */
export interface WireError {
  ok: false
  code: ErrorCode
  message: string
  details?: string
}

/** Rebuilds an error from its wire form; 5xx-like codes and network failures are transient. */
export function errorFromWire(wire: WireError, status?: number, retryAfterMs?: number): MeshworkError {
  const transient =
    wire.code === 'unavailable' ||
    wire.code === 'network' ||
    wire.code === 'internal' ||
    wire.code === 'rate_limited' ||
    (status !== undefined && status >= 500)
  return new MeshworkError(wire.message, { code: wire.code, details: wire.details, transient, retryAfterMs })
}
