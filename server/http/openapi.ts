/**
 * The OpenAPI 3.1 document, generated from the route declarations and their zod schemas (`z.toJSONSchema`), so every
 * route the hub serves is described with the same schemas that check its requests.
 */
import { z } from 'zod'
import { API_PREFIX, WireErrorSchema } from '../../protocol/schemas.ts'
import { DEVICE_HEADER, SIGNATURE_HEADER, TIME_HEADER } from '../../protocol/signing.ts'
import { workloads } from '../../workloads/registry.ts'
import type { AnyRoute } from './route.ts'

type JsonSchema = Record<string, unknown>

const ERROR_TEXT: Record<number, string> = {
  400: 'The request was malformed; `message` names the field.',
  401: 'Missing or wrong credentials; `message` names the header.',
  403: 'Authenticated, but not allowed to do this.',
  404: 'Not found.',
  409: 'Conflicts with the current state; `message` says why.',
  413: 'The body is larger than this endpoint accepts.',
  415: 'The body has the wrong content type.',
  429: 'Too many requests from this device or network; `Retry-After` says when to try again.',
  500: 'Internal error (logged by the hub).',
  503: 'Temporarily unavailable; retry later.',
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema
  return rest
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return []
  const json = schemaOf(schema, 'input')
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((json.required ?? []) as string[])
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }))
}

function security(route: AnyRoute): JsonSchema[] {
  if (route.auth === 'owner') return [{ ownerToken: [] }]
  if (route.auth === 'device') return [{ deviceKey: [], deviceTime: [], deviceSignature: [] }]
  return []
}

function errorStatuses(route: AnyRoute): number[] {
  const statuses = new Set<number>(route.errors ?? [])
  if (route.auth !== 'public') statuses.add(401)
  if (route.auth !== 'owner') statuses.add(429)
  if (route.params || route.query) statuses.add(400)
  if (route.body) {
    statuses.add(413)
    statuses.add(415)
    if (route.body.kind === 'json') statuses.add(400)
  }
  statuses.add(500)
  return [...statuses].sort((a, b) => a - b)
}

function operation(route: AnyRoute): JsonSchema {
  const responses: Record<string, JsonSchema> = {
    [route.response.status]: {
      description: route.response.description,
      ...(route.response.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(route.response.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
            ),
          }
        : {}),
      content: route.response.json
        ? { 'application/json': { schema: schemaOf(route.response.json, 'output') } }
        : { [route.response.binary ?? 'application/octet-stream']: { schema: { type: 'string', contentMediaType: route.response.binary } } },
    },
  }
  for (const status of errorStatuses(route)) {
    responses[status] = {
      description: ERROR_TEXT[status] ?? 'Error.',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    }
  }
  const body = route.body
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: security(route),
    parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
    ...(body
      ? {
          requestBody: {
            required: true,
            description: `At most ${body.limit} bytes.`,
            content:
              body.kind === 'json'
                ? { 'application/json': { schema: schemaOf(body.schema, 'input') } }
                : { [body.contentType]: { schema: { type: 'string', contentMediaType: body.contentType } } },
          },
        }
      : {}),
    responses,
  }
}

export interface OpenApiInfo {
  version: string
}

/** Builds the OpenAPI 3.1 document for `routes`. */
export function buildOpenApi(routes: AnyRoute[], { version }: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const route of routes) {
    const path = API_PREFIX + route.path
    paths[path] ??= {}
    paths[path][route.method.toLowerCase()] = operation(route)
  }
  const workloadSchemas = Object.fromEntries(
    [...workloads.values()].map((w) => [
      `${w.descriptor.id}Params`,
      {
        ...schemaOf(w.descriptor.params, 'input'),
        description: `${w.descriptor.title}: \`params\` of POST ${API_PREFIX}/jobs with workload "${w.descriptor.id}". Inputs: ${w.descriptor.encoding.inputs}. Output: ${w.descriptor.encoding.output}.`,
      },
    ]),
  )
  const signed = `Volunteer requests are signed with the device's Ed25519 key: the signature (base64url) covers
"MESHWORK-REQUEST-V1\\n{METHOD}\\n{path with query}\\n{${TIME_HEADER}}\\n{sha256 hex of the body}", and the time must be
within the hub's clock skew limit. See protocol/signing.ts.`
  return {
    openapi: '3.1.0',
    info: {
      title: 'Meshwork hub API',
      version,
      description:
        'Volunteer compute hub: job owners create jobs, volunteers lease units, return results and earn verified credit. Errors are JSON `{ ok: false, code, message }`.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'hub', description: 'Public hub information.' },
      { name: 'volunteer', description: 'Signed by a device key.' },
      { name: 'wallet', description: 'Sign-In with Ethereum and the wallet session.' },
      { name: 'owner', description: "Job owner's bearer token." },
      { name: 'blobs', description: 'Content-addressed inputs.' },
    ],
    paths,
    components: {
      schemas: { Error: schemaOf(WireErrorSchema, 'output'), ...workloadSchemas },
      securitySchemes: {
        ownerToken: { type: 'http', scheme: 'bearer', description: 'The job owner token (MESHWORK_API_TOKEN, or the one the hub printed at first start).' },
        deviceKey: { type: 'apiKey', in: 'header', name: DEVICE_HEADER, description: `Raw Ed25519 public key, base64url. ${signed}` },
        deviceTime: { type: 'apiKey', in: 'header', name: TIME_HEADER, description: 'Request time in ms since the epoch.' },
        deviceSignature: { type: 'apiKey', in: 'header', name: SIGNATURE_HEADER, description: `Ed25519 signature, base64url. ${signed}` },
      },
    },
  }
}
