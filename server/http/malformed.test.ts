/**
 * The malformed-input suite: for every operation in the hub's own OpenAPI document, thousands of generated malformed
 * requests (broken and truncated JSON, wrong types field by field, JSON that is not an object, a huge body, the wrong
 * content type, bad path and query parameters, missing or wrong credentials and signatures). Every one must get a 4xx
 * with a JSON error whose message says what was wrong; the hub must stay up; and the store must be unchanged.
 * Operations that take no input at all (public GETs without parameters) have nothing to malform and are listed apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../protocol/sign-request.ts'
import { SESSION_HEADER } from '../../protocol/wallet.ts'
import { startTestHub, TEST_TOKEN, Volunteer, type TestHub } from '../test-helpers.ts'

type Schema = {
  $ref?: string
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
  oneOf?: Schema[]
}
interface Operation {
  security?: Record<string, unknown>[]
  parameters?: { name: string; in: 'path' | 'query' }[]
  requestBody?: { content: Record<string, { schema: Schema }> }
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}

/** One malformed request: what it is (for the failure message), and how to send it. */
interface Probe {
  what: string
  method: string
  path: string
  body?: string | Uint8Array
  contentType?: string
  /** 'device': signed by the suite's registered device; 'owner': with the owner token; 'none': no credentials. */
  auth: 'device' | 'owner' | 'none' | 'raw'
  headers?: Record<string, string>
}

let t: TestHub
let volunteer: Volunteer
let doc: OpenApi

beforeAll(async () => {
  t = await startTestHub()
  await t.createMatmulJob()
  volunteer = await Volunteer.create(t.url)
  // Registered before the snapshot (a device's first valid request records it; later ones within a minute do not).
  await volunteer.json('/volunteer/summary')
  doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as OpenApi
})
afterAll(() => t.close())

function resolve(schema: Schema): Schema {
  return schema.$ref ? resolve(doc.components.schemas[schema.$ref.split('/').pop()!]) : schema
}

/** The JSON types a schema accepts. */
function typesOf(schema: Schema): Set<string> {
  const s = resolve(schema)
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives) return new Set(alternatives.flatMap((a) => [...typesOf(a)]))
  return new Set(Array.isArray(s.type) ? s.type : s.type ? [s.type] : ['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'])
}

/** Values of each JSON type, to put where the schema wants another type. */
const SAMPLES: [string, unknown][] = [
  ['null', null],
  ['boolean', true],
  ['number', 1.5],
  ['number', -1e308],
  ['string', ''],
  ['string', 'x'.repeat(5000)],
  ['array', []],
  ['array', [1, 'two', null]],
  ['object', {}],
  ['object', { $gt: 1 }],
]

/** A value of the right type for each required property (its content may still be invalid: that is fine here). */
function baseBody(schema: Schema): Record<string, unknown> {
  const s = resolve(schema)
  const body: Record<string, unknown> = {}
  for (const name of s.required ?? []) {
    const types = typesOf(s.properties?.[name] ?? {})
    body[name] = types.has('string') ? 'x' : types.has('number') ? 1 : types.has('boolean') ? true : types.has('array') ? [] : {}
  }
  return body
}

function bodyProbes(method: string, path: string, schema: Schema, auth: Probe['auth']): Probe[] {
  const probes: Probe[] = []
  const json = (what: string, body: string): Probe => ({ what, method, path, body, contentType: 'application/json', auth })
  for (const text of ['', '{', '{"', 'nul', '[', '{}}', '\u0000', '{"a":1,}', 'undefined', '💥', '{"a":"\\ud800"', "{'a':1}"]) {
    probes.push(json(`syntax ${JSON.stringify(text)}`, text))
  }
  for (const value of ['null', 'true', '1', '"x"', '[]', '[{}]']) probes.push(json(`not an object: ${value}`, value))
  const s = resolve(schema)
  if (s.required?.length) probes.push(json('{} (required fields missing)', '{}'))
  const base = baseBody(schema)
  for (const [name, property] of Object.entries(s.properties ?? {})) {
    const accepted = typesOf(property)
    for (const [type, value] of SAMPLES) {
      // An integer field takes only whole numbers: 1.5 is wrong for it, -1e308 (whole, but unsafe) is left out.
      const wrong = type === 'number' && accepted.has('integer') ? value === 1.5 : !accepted.has(type)
      if (wrong) probes.push(json(`${name} = ${JSON.stringify(value).slice(0, 20)}`, JSON.stringify({ ...base, [name]: value })))
    }
  }
  // Truncated at every position: never valid JSON.
  const full = JSON.stringify({ ...base, padding: 'p'.repeat(400) })
  for (let cut = 1; cut < full.length; cut++) probes.push(json(`truncated at ${cut}`, full.slice(0, cut)))
  probes.push(json('3 MB of garbage', `{"x":"${'a'.repeat(3 * 1024 * 1024)}`))
  probes.push({ what: 'wrong content type', method, path, body: JSON.stringify(base), contentType: 'text/plain', auth })
  probes.push({ what: 'no content type', method, path, body: JSON.stringify(base), auth })
  return probes
}

/** Path parameters that name nothing, or nothing valid. */
const BAD_IDS = ['nope', '..', 'x'.repeat(300), '%00', '0'.repeat(64), "'%3B%20DROP%20TABLE%20jobs%3B--", 'f'.repeat(63), '%F0%9F%92%A5']
const BAD_QUERIES = ['-1', 'abc', '1e9', '1.5', '', '0', '201', '%00']

function probesFor(path: string, method: string, op: Operation): Probe[] {
  const security = op.security?.[0] ?? {}
  const auth: Probe['auth'] = 'deviceKey' in security ? 'device' : 'ownerToken' in security ? 'owner' : 'none'
  const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name)
  const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)
  const concrete = (id: string) => path.replace(/\{\w+\}/g, id)
  const probes: Probe[] = []
  const upper = method.toUpperCase()
  if (auth === 'device') {
    const signedPath = concrete('x')
    probes.push({ what: 'no device headers', method: upper, path: signedPath, auth: 'none' })
    probes.push({ what: 'garbage device headers', method: upper, path: signedPath, auth: 'raw', headers: { 'x-meshwork-device': '!!', 'x-meshwork-time': 'soon', 'x-meshwork-signature': '??' } })
    probes.push({ what: 'signed ten minutes ago', method: upper, path: signedPath, auth: 'raw', headers: { stale: '1' } })
    probes.push({ what: 'signed for another path', method: upper, path: signedPath, auth: 'raw', headers: { otherPath: '1' } })
  }
  if (auth === 'owner') {
    probes.push({ what: 'no owner token', method: upper, path: concrete('x'), auth: 'none' })
    probes.push({ what: 'wrong owner token', method: upper, path: concrete('x'), auth: 'raw', headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })
  }
  if (path.startsWith('/api/v1/wallet')) {
    probes.push({ what: 'no session', method: upper, path, auth: 'none' })
    probes.push({ what: 'unknown session', method: upper, path, auth: 'none', headers: { [SESSION_HEADER]: 'not-a-session' } })
  }
  for (const id of pathParams.length ? BAD_IDS : []) probes.push({ what: `path ${id.slice(0, 20)}`, method: upper, path: concrete(id), auth })
  for (const name of queryParams) {
    for (const value of BAD_QUERIES) probes.push({ what: `${name}=${value}`, method: upper, path: `${path}?${name}=${value}`, auth })
  }
  const media = op.requestBody?.content
  if (media?.['application/json']) probes.push(...bodyProbes(upper, concrete('x'), media['application/json'].schema, auth))
  if (media?.['application/octet-stream']) {
    probes.push({ what: 'empty blob', method: upper, path, body: new Uint8Array(), contentType: 'application/octet-stream', auth })
    probes.push({ what: 'blob as JSON', method: upper, path, body: '{}', contentType: 'application/json', auth })
  }
  return probes
}

async function send(probe: Probe): Promise<Response> {
  const url = `${t.url}${probe.path}`
  const headers: Record<string, string> = { ...(probe.contentType ? { 'content-type': probe.contentType } : {}) }
  const bytes = probe.body === undefined ? new Uint8Array() : typeof probe.body === 'string' ? new TextEncoder().encode(probe.body) : probe.body
  const fullPath = new URL(url).pathname + new URL(url).search
  if (probe.auth === 'device') Object.assign(headers, await signRequest(volunteer.key, { method: probe.method, path: fullPath, body: bytes }))
  if (probe.auth === 'owner') headers.authorization = `Bearer ${TEST_TOKEN}`
  if (probe.auth === 'raw' && probe.headers?.stale) {
    Object.assign(headers, await signRequest(volunteer.key, { method: probe.method, path: fullPath, body: bytes, time: Date.now() - 10 * 60_000 }))
  } else if (probe.auth === 'raw' && probe.headers?.otherPath) {
    Object.assign(headers, await signRequest(volunteer.key, { method: probe.method, path: '/api/v1/other', body: bytes }))
  } else if (probe.headers) Object.assign(headers, probe.headers)
  return fetch(url, { method: probe.method, headers, body: probe.method === 'GET' ? undefined : (bytes as Uint8Array<ArrayBuffer>) })
}

describe('malformed requests to every operation', () => {
  it('each gets a 4xx with a JSON message; the hub stays up and the store is unchanged', async () => {
    const before = { counts: await t.hub.store.counts(), units: await t.hub.store.unitStates() }
    const probes: Probe[] = []
    const untouched: string[] = []
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const mine = probesFor(path, method, op)
        if (mine.length) probes.push(...mine)
        else untouched.push(`${method.toUpperCase()} ${path}`)
      }
    }
    expect(probes.length).toBeGreaterThan(2000)
    const failures: string[] = []
    // Eight at a time: the suite sends its thousands in seconds.
    for (let i = 0; i < probes.length; i += 8) {
      await Promise.all(
        probes.slice(i, i + 8).map(async (probe) => {
          const response = await send(probe)
          const text = await response.text()
          let message = ''
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? ''
          } catch {
            // not JSON: reported below
          }
          // A probe that missed every route proves nothing about that route: only path-parameter probes may 404.
          const missed = /^No API route/.test(message) && !probe.what.startsWith('path ')
          if (response.status < 400 || response.status >= 500 || message.length < 10 || missed) {
            failures.push(`${probe.method} ${probe.path.slice(0, 60)} [${probe.what}] -> ${response.status} ${text.slice(0, 120)}`)
          }
        }),
      )
    }
    expect(failures.slice(0, 20)).toEqual([])
    expect((await fetch(`${t.url}/api/v1/health`)).status).toBe(200)
    expect({ counts: await t.hub.store.counts(), units: await t.hub.store.unitStates() }).toEqual(before)
    // Only input-less public reads are left out (nothing to malform).
    for (const op of untouched) expect(op).toMatch(/^GET \/api\/v1\/(health|config|work\/current|p2p|openapi\.json|auth\/nonce|rewards)$/)
  }, 120_000)
})
