/**
 * Request bodies: the content type is checked and the size limited BEFORE anything parses a byte, first from
 * Content-Length and then while streaming (a client may lie about or omit the length), then JSON is parsed with the
 * protocol's schema. Every failure names the header, limit or field that was wrong.
 */
import type { z } from 'zod'
import { MeshworkError } from '../../protocol/errors.ts'
import { describeZodError } from '../../protocol/schemas.ts'

// Requests whose body was read to the end; any other request with a body gets its error response with
// `Connection: close`, because the unread rest of the body would otherwise be taken for the next request on the socket.
const fullyRead = new WeakSet<Request>()

/** Whether `request` carries a body the hub has not read to the end. */
export function hasUnreadBody(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD' || fullyRead.has(request)) return false
  const length = request.headers.get('content-length')
  return request.headers.has('transfer-encoding') || (length !== null && length !== '0')
}

export interface ReadBodyOptions {
  /** Most bytes accepted. */
  limit: number
  /** Required media type, e.g. `application/json` (parameters such as charset are allowed). */
  contentType: string
  /** Names the endpoint in error messages, e.g. `POST /api/v1/results`. */
  what: string
}

/** Checks the content type, enforces the size limit and returns the body's bytes. */
export async function readBody(request: Request, { limit, contentType, what }: ReadBodyOptions): Promise<Uint8Array> {
  const given = request.headers.get('content-type')
  const media = given?.split(';')[0].trim().toLowerCase()
  if (media !== contentType) {
    throw new MeshworkError(`${what} needs content-type ${contentType}, got ${given ? `"${given}"` : 'none'}.`, {
      code: 'unsupported_media_type',
    })
  }
  const tooLarge = (size: string) =>
    new MeshworkError(`The request body is ${size} bytes; ${what} accepts at most ${limit} bytes.`, { code: 'payload_too_large' })
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) throw tooLarge(String(declared))
  if (!request.body) {
    fullyRead.add(request)
    return new Uint8Array()
  }

  const chunks: Uint8Array[] = []
  let size = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(`more than ${limit}`)
    }
    chunks.push(value)
  }
  fullyRead.add(request)
  if (chunks.length === 1) return chunks[0]
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/** Parses JSON bytes with a schema; a failure is a `bad_request` naming the field. */
export function parseJsonBody<T>(bytes: Uint8Array, schema: z.ZodType<T>, what: string): T {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (error) {
    throw new MeshworkError(`The body of ${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      code: 'bad_request',
    })
  }
  return parseWith(schema, value)
}

/** Parses a value with a schema; a failure is a `bad_request` naming the field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new MeshworkError(describeZodError(parsed.error), { code: 'bad_request' })
  return parsed.data
}
