/**
 * Everything that arrives is checked before it touches the store: signatures, owner token, content type, size and
 * schema. Each rejection is JSON naming what was wrong, and nothing is stored (row counts before and after).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toBase64 } from '../../protocol/encoding.ts'
import { MAX_CLOCK_SKEW_MS, MAX_JSON_BODY_BYTES, MAX_RESULT_BODY_BYTES } from '../../protocol/limits.ts'
import { signRequest } from '../../protocol/sign-request.ts'
import { DEVICE_HEADER, SIGNATURE_HEADER, TIME_HEADER } from '../../protocol/signing.ts'
import { startTestHub, Volunteer, type TestHub } from '../test-helpers.ts'

let t: TestHub
let volunteer: Volunteer

beforeAll(async () => {
  t = await startTestHub()
  volunteer = await Volunteer.create(t.url)
})

afterAll(async () => {
  await t.close()
})

async function error(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status)
  const body = (await response.json()) as { ok: boolean; code: string; message: string }
  expect(body).toMatchObject({ ok: false, code })
  return body.message
}

/** Runs `act` and asserts the store's row counts did not change. */
async function storesNothing(act: () => Promise<void>): Promise<void> {
  const before = await t.hub.store.counts()
  await act()
  await t.hub.ingest.flush()
  expect(await t.hub.store.counts()).toEqual(before)
}

describe('request bodies', () => {
  it('rejects a malformed lease naming the field, and leases nothing', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32 })
    await storesNothing(async () => {
      expect(await error(await volunteer.request('POST', '/work/lease', { max: 99, backends: ['cpu'] }), 400, 'bad_request')).toMatch(/^max: /)
      expect(await error(await volunteer.request('POST', '/work/lease', { max: 1, backends: ['tpu'] }), 400, 'bad_request')).toMatch(/^backends\.0: /)
      expect(await error(await volunteer.request('POST', '/work/lease', { max: 1, backends: ['cpu'], extra: 1 }), 400, 'bad_request')).toMatch(/extra/)
      expect(await error(await volunteer.request('POST', '/work/lease', '{"max": 1,'), 400, 'bad_request')).toMatch(/not valid JSON/)
    })
  })

  it('rejects a malformed result naming the field, and stores nothing', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32 })
    const [unit] = await volunteer.lease(1)
    const good = { resultId: crypto.randomUUID(), unitId: unit.unitId, output: toBase64(new Uint8Array(32 * 32 * 4)), elapsedMs: 3, backend: 'cpu' }
    await storesNothing(async () => {
      expect(await error(await volunteer.request('POST', '/results', { ...good, resultId: 'nope' }), 400, 'bad_request')).toMatch(/^resultId: /)
      expect(await error(await volunteer.request('POST', '/results', { ...good, output: '***' }), 400, 'bad_request')).toMatch(/^output: /)
      expect(await error(await volunteer.request('POST', '/results', { ...good, elapsedMs: -1 }), 400, 'bad_request')).toMatch(/^elapsedMs: /)
      expect(await error(await volunteer.request('POST', '/results', { ...good, unitId: undefined }), 400, 'bad_request')).toMatch(/^unitId: /)
    })
  })

  it('rejects an output of the wrong length, naming the size the unit needs', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32 })
    const [unit] = await volunteer.lease(1)
    await storesNothing(async () => {
      const message = await error(await volunteer.submit(unit.unitId, new Uint8Array(100)), 400, 'bad_request')
      expect(message).toContain('output is 100 bytes')
      expect(message).toContain(`needs exactly ${32 * 32 * 4} bytes`)
    })
    expect(await error(await volunteer.submit('no-such-unit', new Uint8Array(4)), 404, 'not_found')).toBe('Unit no-such-unit does not exist.')
  })

  it('rejects malformed jobs naming the field, and stores no job, unit or blob', async () => {
    const post = (body: unknown) =>
      t.owner('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await storesNothing(async () => {
      expect(await error(await post({ workload: 'matmul', params: { m: 0, n: 4, k: 4, inputs: { kind: 'random', seed: 1 } } }), 400, 'bad_request')).toMatch(/^params\.m: /)
      expect(await error(await post({ workload: 'matmul', params: { m: 4, n: 4, k: 4, tile: 9999, inputs: { kind: 'random', seed: 1 } } }), 400, 'bad_request')).toMatch(/^params\.tile: /)
      expect(await error(await post({ workload: 'matmul', params: { m: 4, n: 4, k: 4, inputs: { kind: 'blobs', a: 'x', b: 'y' } } }), 400, 'bad_request')).toMatch(/^params\.inputs\.a: /)
      const missing = 'ab'.repeat(32)
      expect(await error(await post({ workload: 'matmul', params: { m: 4, n: 4, k: 4, inputs: { kind: 'blobs', a: missing, b: missing } } }), 400, 'bad_request')).toBe(
        `params.inputs.a: no blob ${missing} was uploaded`,
      )
      expect(await error(await post({ workload: 'fold', params: {} }), 400, 'bad_request')).toBe('Unknown workload "fold"; this hub runs: matmul, primes.')
      expect(await error(await post({ params: {} }), 400, 'bad_request')).toMatch(/^workload: /)
    })
  })

  it('answers 413 for a body over the limit, before parsing it', async () => {
    const big = JSON.stringify({ max: 1, backends: ['cpu'], pad: 'x'.repeat(MAX_JSON_BODY_BYTES) })
    const message = await error(await volunteer.request('POST', '/work/lease', big), 413, 'payload_too_large')
    expect(message).toContain(`at most ${MAX_JSON_BODY_BYTES} bytes`)

    const huge = 'x'.repeat(MAX_RESULT_BODY_BYTES + 1)
    await error(await volunteer.request('POST', '/results', huge), 413, 'payload_too_large')
    await error(
      await t.owner('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big }),
      413,
      'payload_too_large',
    )
  })

  it('answers 413 when a body without Content-Length streams past the limit', async () => {
    const chunk = new Uint8Array(16 * 1024).fill(32)
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_JSON_BODY_BYTES * 2) return controller.close()
        sent += chunk.byteLength
        controller.enqueue(chunk)
      },
    })
    const response = await t.owner('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    await error(response, 413, 'payload_too_large')
  })

  it('answers 415 for the wrong content type', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ max: 1, backends: ['cpu'] }))
    const headers = await signRequest(volunteer.key, { method: 'POST', path: '/api/v1/work/lease', body })
    const response = await fetch(`${t.url}/api/v1/work/lease`, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body })
    expect(await error(response, 415, 'unsupported_media_type')).toBe('POST /api/v1/work/lease needs content-type application/json, got "text/plain".')

    const upload = await t.owner('/blobs', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(await error(upload, 415, 'unsupported_media_type')).toContain('application/octet-stream')
  })
})

describe('device signatures', () => {
  const leaseBody = new TextEncoder().encode(JSON.stringify({ max: 1, backends: ['cpu'] }))
  const send = (headers: Record<string, string>, path = '/api/v1/work/lease', body: Uint8Array<ArrayBuffer> = leaseBody) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

  it('rejects missing headers, naming the one that is missing', async () => {
    const signed = await signRequest(volunteer.key, { method: 'POST', path: '/api/v1/work/lease', body: leaseBody })
    await storesNothing(async () => {
      for (const header of [DEVICE_HEADER, TIME_HEADER, SIGNATURE_HEADER]) {
        const { [header]: _dropped, ...rest } = signed
        expect(await error(await send(rest), 401, 'unauthorized')).toContain(`Missing ${header} header`)
      }
    })
  })

  it('rejects malformed headers and a signature that does not match the request', async () => {
    const signed = await signRequest(volunteer.key, { method: 'POST', path: '/api/v1/work/lease', body: leaseBody })
    await storesNothing(async () => {
      expect(await error(await send({ ...signed, [DEVICE_HEADER]: 'short' }), 401, 'unauthorized')).toContain(DEVICE_HEADER)
      expect(await error(await send({ ...signed, [TIME_HEADER]: 'yesterday' }), 401, 'unauthorized')).toContain(TIME_HEADER)
      expect(await error(await send({ ...signed, [SIGNATURE_HEADER]: 'abc' }), 401, 'unauthorized')).toContain(SIGNATURE_HEADER)

      // Another body, another device or another path than the one signed.
      const tampered = new TextEncoder().encode(JSON.stringify({ max: 16, backends: ['cpu'] }))
      expect(await error(await send(signed, '/api/v1/work/lease', tampered), 401, 'unauthorized')).toContain(`${SIGNATURE_HEADER} header does not match`)
      const other = await Volunteer.create(t.url)
      expect(await error(await send({ ...signed, [DEVICE_HEADER]: other.deviceId }), 401, 'unauthorized')).toContain('does not match')
      const summary = await signRequest(volunteer.key, { method: 'GET', path: '/api/v1/volunteer/results?limit=5' })
      const replayed = await fetch(`${t.url}/api/v1/volunteer/results?limit=200`, { headers: summary })
      expect(await error(replayed, 401, 'unauthorized')).toContain('does not match')
    })
  })

  it('rejects a stale or future timestamp, saying how far off the clock is', async () => {
    const stale = await volunteer.request('GET', '/volunteer/summary', undefined, Date.now() - MAX_CLOCK_SKEW_MS - 60_000)
    expect(await error(stale, 401, 'unauthorized')).toMatch(/x-meshwork-time header is \d+ ms away from the hub's clock/)
    const future = await volunteer.request('GET', '/volunteer/summary', undefined, Date.now() + MAX_CLOCK_SKEW_MS + 60_000)
    await error(future, 401, 'unauthorized')
    // Within the allowed skew is fine.
    expect((await volunteer.request('GET', '/volunteer/summary', undefined, Date.now() - 60_000)).status).toBe(200)
  })

  it('registers a device on its first valid signed request', async () => {
    const before = (await t.hub.store.counts()).devices
    const fresh = await Volunteer.create(t.url)
    expect(await fresh.json('/volunteer/summary')).toMatchObject({ deviceId: fresh.deviceId, creditFlops: 0 })
    expect((await t.hub.store.counts()).devices).toBe(before + 1)
  })

  it('checks the query of results', async () => {
    expect(await error(await volunteer.request('GET', '/volunteer/results?limit=0'), 400, 'bad_request')).toMatch(/^limit: /)
    expect(await error(await volunteer.request('GET', '/volunteer/results?limit=201'), 400, 'bad_request')).toMatch(/^limit: /)
    expect((await volunteer.request('GET', '/volunteer/results?limit=200')).status).toBe(200)
  })
})

describe('owner token', () => {
  it('rejects a missing or wrong token on every owner endpoint', async () => {
    await storesNothing(async () => {
      for (const [method, path] of [['GET', '/jobs'], ['POST', '/jobs'], ['GET', '/jobs/x'], ['GET', '/jobs/x/output'], ['PUT', '/blobs']]) {
        const missing = await fetch(`${t.url}/api/v1${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' })
        expect(await error(missing, 401, 'unauthorized')).toContain('Authorization: Bearer')
        const wrong = await fetch(`${t.url}/api/v1${path}`, { method, headers: { authorization: 'Bearer not-the-token' } })
        await error(wrong, 401, 'unauthorized')
      }
    })
  })
})

describe('blobs', () => {
  it('answers 400 for a malformed hash and 404 for an unknown one', async () => {
    expect(await error(await fetch(`${t.url}/api/v1/blobs/not-a-hash`), 400, 'bad_request')).toMatch(/^hash: /)
    expect(await error(await fetch(`${t.url}/api/v1/blobs/${'0'.repeat(64)}`), 404, 'not_found')).toBe(`Blob ${'0'.repeat(64)} is not stored on this hub.`)
  })
})
