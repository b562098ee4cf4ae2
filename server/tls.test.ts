/**
 * HTTPS without a proxy: with MESHWORK_TLS_CERT and MESHWORK_TLS_KEY the hub serves its API and app over TLS and the
 * peer network's WebSockets over TLS too (pages served over HTTPS may not open plain ws://).
 */
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hubOptionsFromEnv } from './config.ts'
import { startTestHub, tempDir, type TestHub } from './test-helpers.ts'

const CERT = path.join(import.meta.dirname, 'testdata', 'localhost.crt')
const KEY = path.join(import.meta.dirname, 'testdata', 'localhost.key')
const ca = fs.readFileSync(CERT)

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

describe('TLS', () => {
  let t: TestHub

  beforeAll(async () => {
    const { tls: files } = hubOptionsFromEnv({ MESHWORK_TLS_CERT: CERT, MESHWORK_TLS_KEY: KEY })
    t = await startTestHub({ tls: files })
  })
  afterAll(() => t?.close())

  it('serves the API over HTTPS with the configured certificate', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const health = await get(`${t.url}/api/v1/health`)
    expect(health.status).toBe(200)
    // A client that does not trust the certificate is refused: it really is TLS with this certificate.
    await expect(new Promise((resolve, reject) => https.get(`${t.url}/api/v1/health`, resolve).on('error', reject))).rejects.toThrow(
      /self[- ]signed/,
    )
  })

  it('publishes and serves the peer network over TLS', async () => {
    const config = JSON.parse((await get(`${t.url}/api/v1/p2p`)).body) as { multiaddrs: string[] }
    expect(config.multiaddrs[0]).toMatch(/\/tcp\/\d+\/tls\/ws\/p2p\//)
    const port = Number(/\/tcp\/(\d+)\//.exec(config.multiaddrs[0])![1])
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        resolve(socket.authorized)
        socket.end()
      })
      socket.on('error', reject)
    })
    expect(authorized).toBe(true)
  })
})

describe('TLS configuration', () => {
  it('needs both files, readable and PEM, and names the variable at fault', () => {
    expect(() => hubOptionsFromEnv({ MESHWORK_TLS_CERT: CERT })).toThrow(/MESHWORK_TLS_KEY must be set together with MESHWORK_TLS_CERT/)
    expect(() => hubOptionsFromEnv({ MESHWORK_TLS_CERT: '/nonexistent.pem', MESHWORK_TLS_KEY: KEY })).toThrow(/MESHWORK_TLS_CERT must name a readable PEM file/)
    const { dir, remove } = tempDir()
    try {
      fs.writeFileSync(path.join(dir, 'not.pem'), 'hello')
      expect(() => hubOptionsFromEnv({ MESHWORK_TLS_CERT: CERT, MESHWORK_TLS_KEY: path.join(dir, 'not.pem') })).toThrow(/MESHWORK_TLS_KEY must be a PEM file containing PRIVATE KEY/)
    } finally {
      remove()
    }
  })
})
