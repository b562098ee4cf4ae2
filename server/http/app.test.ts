/**
 * The API describes itself completely, unknown API paths answer JSON, and the built app is served as a single-page
 * app with the right types and cache headers (or a page saying to build it).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Health, HubConfig } from '../../protocol/schemas.ts'
import { startTestHub, tempDir, type TestHub } from '../test-helpers.ts'

let t: TestHub
let dist: { dir: string; remove: () => void }

beforeAll(async () => {
  dist = tempDir()
  fs.mkdirSync(path.join(dist.dir, 'assets'))
  fs.writeFileSync(path.join(dist.dir, 'index.html'), '<!doctype html><title>Meshwork</title>')
  fs.writeFileSync(path.join(dist.dir, 'sw.js'), 'self.addEventListener("fetch", () => {})')
  fs.writeFileSync(path.join(dist.dir, 'manifest.webmanifest'), '{}')
  fs.writeFileSync(path.join(dist.dir, 'assets', 'index-abc123.js'), 'export {}')
  fs.writeFileSync(path.join(dist.dir, 'assets', 'kernel-abc123.wasm'), new Uint8Array([0, 97, 115, 109]))
  fs.writeFileSync(path.join(dist.dir, 'widget.js'), '(()=>{})()')
  fs.writeFileSync(path.join(dist.dir, 'embed.html'), '<!doctype html><title>Meshwork widget</title>')
  t = await startTestHub({ staticDir: dist.dir })
})

afterAll(async () => {
  await t.close()
  dist.remove()
})

describe('OpenAPI document', () => {
  it('describes every registered API route with its security and schemas', async () => {
    const response = await fetch(`${t.url}/api/v1/openapi.json`)
    expect(response.status).toBe(200)
    const doc = (await response.json()) as {
      openapi: string
      paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown>; requestBody?: unknown }>>
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> }
    }
    expect(doc.openapi).toBe('3.1.0')

    // Every route Hono actually serves under /api/v1, except the JSON 404 catch-alls.
    const served = t.hub.app.routes
      .filter((r) => r.path.startsWith('/api/v1/') && !r.path.endsWith('*') && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    expect(served.length).toBe(26)
    expect(new Set(documented)).toEqual(new Set(served))
    expect(documented).toEqual(
      expect.arrayContaining(['GET /api/v1/p2p', 'POST /api/v1/receipts', 'GET /api/v1/stats', 'GET /api/v1/auth/nonce', 'POST /api/v1/auth/siwe', 'GET /api/v1/wallet']),
    )
    expect(doc.paths['/api/v1/auth/siwe'].post.security).toEqual([{ deviceKey: [], deviceTime: [], deviceSignature: [] }])
    expect(doc.paths['/api/v1/stats'].get.security).toEqual([{ ownerToken: [] }])
    expect(doc.paths['/api/v1/partners'].get.security).toEqual([{ ownerToken: [] }])
    expect(JSON.stringify(doc.paths['/api/v1/partners'].get.responses['200'])).toContain('"creditFlops"')
    expect(doc.paths['/api/v1/work/current'].get.security).toEqual([])
    expect(JSON.stringify(doc.paths['/api/v1/work/lease'].post.requestBody)).toContain('"partner"')
    expect(doc.paths['/api/v1/p2p'].get.security).toEqual([])
    expect(JSON.stringify(doc.paths['/api/v1/receipts'].post.requestBody)).toContain('"receiptId"')

    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['deviceKey', 'deviceSignature', 'deviceTime', 'ownerToken'])
    expect(doc.paths['/api/v1/jobs'].post.security).toEqual([{ ownerToken: [] }])
    expect(doc.paths['/api/v1/work/lease'].post.security).toEqual([{ deviceKey: [], deviceTime: [], deviceSignature: [] }])
    expect(doc.paths['/api/v1/health'].get.security).toEqual([])
    expect(JSON.stringify(doc.paths['/api/v1/results'].post.requestBody)).toContain('"resultId"')
    expect(Object.keys(doc.paths['/api/v1/results'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '409', '413', '415']))
    expect(JSON.stringify(doc.paths['/api/v1/results/batch'].post.requestBody)).toContain('"resultId"')
    expect(doc.paths['/api/v1/results/batch'].post.security).toEqual([{ deviceKey: [], deviceTime: [], deviceSignature: [] }])
    expect(doc.components.schemas).toHaveProperty('matmulParams')
  })
})

describe('hub information', () => {
  it('answers health and config in their protocol shapes, with credit in GFLOP', async () => {
    const health = Health.parse(await (await fetch(`${t.url}/api/v1/health`)).json())
    expect(health).toMatchObject({ ok: true, store: 'sqlite' })
    const config = HubConfig.parse(await (await fetch(`${t.url}/api/v1/config`)).json())
    expect(config.credit).toEqual({ unit: 'GFLOP', flopsPerUnit: 1e9 })
    expect(config.workloads).toEqual([
      expect.objectContaining({ id: 'matmul', version: 1, title: 'Dense matrix multiply' }),
      expect.objectContaining({ id: 'primes', version: 1, title: 'Prime counting' }),
    ])
  })
})

describe('errors', () => {
  it('answers unknown API paths with a JSON 404', async () => {
    for (const [method, p] of [['GET', '/api/v1/nope'], ['POST', '/api/v2/jobs'], ['GET', '/api'], ['DELETE', '/api/v1/jobs']]) {
      const response = await fetch(`${t.url}${p}`, { method })
      expect(response.status).toBe(404)
      expect(response.headers.get('content-type')).toContain('application/json')
      expect(await response.json()).toEqual({ ok: false, code: 'not_found', message: `No API route ${method} ${p}; see /api/v1/openapi.json.` })
    }
  })

  it('answers an internal failure with a JSON 500 and no stack', async () => {
    const logged: string[] = []
    const broken = await startTestHub({ log: (line) => logged.push(line) })
    try {
      await broken.hub.store.close()
      const response = await broken.owner('/jobs')
      expect(response.status).toBe(500)
      const body = await response.text()
      expect(JSON.parse(body)).toEqual({ ok: false, code: 'internal', message: 'The hub hit an internal error; it was logged. Try again later.' })
      expect(body).not.toContain('at ')
      expect(logged.join('\n')).toContain('GET /api/v1/jobs failed')
    } finally {
      await broken.close().catch(() => {})
    }
  })
})

describe('static app', () => {
  it('serves files with their MIME types and cache rules', async () => {
    const js = await fetch(`${t.url}/assets/index-abc123.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const wasm = await fetch(`${t.url}/assets/kernel-abc123.wasm`)
    expect(wasm.headers.get('content-type')).toBe('application/wasm')
    expect((await fetch(`${t.url}/manifest.webmanifest`)).headers.get('content-type')).toBe('application/manifest+json')
    const sw = await fetch(`${t.url}/sw.js`)
    expect(sw.headers.get('cache-control')).toBe('no-cache')
    const index = await fetch(`${t.url}/`)
    expect(index.headers.get('cache-control')).toBe('no-cache')
    expect(await index.text()).toContain('<title>Meshwork</title>')
  })

  it('answers unknown app paths with index.html, but a missing hashed asset with 404', async () => {
    const deep = await fetch(`${t.url}/wallet/claims`)
    expect(deep.status).toBe(200)
    expect(await deep.text()).toContain('<title>Meshwork</title>')
    expect((await fetch(`${t.url}/assets/gone-123.js`)).status).toBe(404)
    expect(await (await fetch(`${t.url}/..%2f..%2fetc%2fpasswd`)).text()).toContain('<title>Meshwork</title>')
  })

  it('serves the partner widget to any origin and lets any site frame the embed page', async () => {
    const loader = await fetch(`${t.url}/widget.js`, { headers: { origin: 'https://partner.example' } })
    expect(loader.status).toBe(200)
    expect(loader.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(loader.headers.get('access-control-allow-origin')).toBe('*')
    expect(loader.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(loader.headers.get('cache-control')).toBe('public, max-age=300')
    const embed = await fetch(`${t.url}/embed.html?partner=example-news`)
    expect(embed.status).toBe(200)
    expect(await embed.text()).toContain('<title>Meshwork widget</title>')
    expect(embed.headers.get('x-frame-options')).toBeNull()
    // The app's policy, with any site allowed to frame it.
    expect(embed.headers.get('content-security-policy')).toMatch(/default-src 'self'.*; frame-ancestors \*$/)
  })

  it('answers a missing widget.js with 404, not the app page', async () => {
    const bare = await startTestHub()
    try {
      const response = await fetch(`${bare.url}/widget.js`)
      expect(response.status).toBe(404)
      expect(await response.text()).toContain('npm run build')
    } finally {
      await bare.close()
    }
  })

  it('says to run the build when there is no built app', async () => {
    const bare = await startTestHub()
    try {
      const page = await fetch(`${bare.url}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('npm run build')
    } finally {
      await bare.close()
    }
  })
})

describe('security headers', () => {
  it('the app: a policy allowing only what it needs, and no framing', async () => {
    const response = await fetch(`${t.url}/`)
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'")
    expect(csp).toContain("object-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain("'unsafe-eval' ")
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/)
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(response.headers.get('strict-transport-security')).toBeNull()
  })

  it('the widget page may be framed by any site; the API answers allow nothing', async () => {
    const embed = await fetch(`${t.url}/embed.html`)
    expect(embed.headers.get('content-security-policy')).toContain('frame-ancestors *')
    expect(embed.headers.get('x-frame-options')).toBeNull()
    for (const path of ['/api/v1/health', '/api/v1/no-such-route', '/assets/kernel-abc123.wasm']) {
      const response = await fetch(`${t.url}${path}`)
      expect(response.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
  })
})
