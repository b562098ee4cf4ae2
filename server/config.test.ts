/** Configuration a hub operator notices: env errors name the variable, and the owner token is shown once, kept hashed. */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { hubOptionsFromEnv } from './config.ts'
import { createHub } from './hub.ts'
import { tempDir } from './test-helpers.ts'

describe('hubOptionsFromEnv', () => {
  it('uses the documented defaults', () => {
    expect(hubOptionsFromEnv({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      staticDir: './dist',
      apiToken: undefined,
      resetApiToken: false,
      demo: true,
      demoParams: undefined,
      leaseMs: 600_000,
      p2p: { port: 8081 },
      receipts: { allowSameNetwork: false },
      rateLimits: { device: { perSecond: 20, burst: 60 }, network: { perSecond: 300, burst: 900 } },
      verification: { replicasSameNetwork: false, dailyQuota: 10_000, trustAfter: 10, spotCheckFraction: 0.02, maxDeviceFlopsPerMs: 1e11 },
    })
    expect(hubOptionsFromEnv({ MESHWORK_RATE_DEVICE: '5', MESHWORK_RATE_NETWORK: '0' }).rateLimits).toEqual({
      device: { perSecond: 5, burst: 15 },
      network: { perSecond: 0, burst: 0 },
    })
    expect(() => hubOptionsFromEnv({ MESHWORK_RATE_DEVICE: 'fast' })).toThrow(/MESHWORK_RATE_DEVICE must be an integer/)
    expect(
      hubOptionsFromEnv({ MESHWORK_REPLICAS_SAME_NETWORK: 'on', MESHWORK_DAILY_QUOTA: '50', MESHWORK_TRUST_AFTER: '0', MESHWORK_SPOT_CHECKS: '0.5', MESHWORK_MAX_DEVICE_GFLOPS: '10' }).verification,
    ).toEqual({ replicasSameNetwork: true, dailyQuota: 50, trustAfter: 0, spotCheckFraction: 0.5, maxDeviceFlopsPerMs: 1e7 })
    expect(() => hubOptionsFromEnv({ MESHWORK_SPOT_CHECKS: '2' })).toThrow(/^MESHWORK_SPOT_CHECKS must be a fraction from 0 to 1/)
    expect(() => hubOptionsFromEnv({ MESHWORK_DAILY_QUOTA: '0' })).toThrow(/^MESHWORK_DAILY_QUOTA must be an integer/)
    expect(hubOptionsFromEnv({ MESHWORK_DEMO: 'off', PORT: '0', MESHWORK_DEMO_PARAMS: '{"m":64}' })).toMatchObject({
      demo: false,
      port: 0,
      demoParams: { m: 64 },
      p2p: { port: 0 },
    })
  })

  it('reads the peer network settings', () => {
    expect(hubOptionsFromEnv({ PORT: '9000' }).p2p).toEqual({ port: 9001 })
    expect(hubOptionsFromEnv({ PORT: '9000', MESHWORK_P2P_PORT: '0' }).p2p).toEqual({ port: 0 })
    expect(hubOptionsFromEnv({ MESHWORK_P2P: 'off' }).p2p).toBe(false)
    expect(
      hubOptionsFromEnv({
        MESHWORK_P2P_HOST: '0.0.0.0',
        MESHWORK_P2P_ANNOUNCE: '/dns4/hub.example.org/tcp/443/wss, /ip4/203.0.113.7/tcp/8081/ws',
        MESHWORK_ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"}]',
        MESHWORK_RECEIPTS_SAME_NETWORK: '1',
      }),
    ).toMatchObject({
      p2p: {
        port: 8081,
        host: '0.0.0.0',
        announce: ['/dns4/hub.example.org/tcp/443/wss', '/ip4/203.0.113.7/tcp/8081/ws'],
        iceServers: [{ urls: 'stun:stun.example.org:3478' }],
      },
      receipts: { allowSameNetwork: true },
    })
    expect(() => hubOptionsFromEnv({ MESHWORK_P2P_PORT: '70000' })).toThrow(/^MESHWORK_P2P_PORT must be an integer from 0 to 65535/)
    expect(() => hubOptionsFromEnv({ PORT: '65535' })).toThrow(/^MESHWORK_P2P_PORT must be set when PORT is 65535/)
    expect(() => hubOptionsFromEnv({ MESHWORK_P2P_ANNOUNCE: 'hub.example.org:443' })).toThrow(/^MESHWORK_P2P_ANNOUNCE must be a comma-separated list of multiaddrs/)
    expect(() => hubOptionsFromEnv({ MESHWORK_ICE_SERVERS: '{"urls":"stun:x"}' })).toThrow(/^MESHWORK_ICE_SERVERS must be a JSON array of RTCIceServer objects/)
    expect(() => hubOptionsFromEnv({ MESHWORK_ICE_SERVERS: '[stun]' })).toThrow(/^MESHWORK_ICE_SERVERS must be a JSON array/)
    expect(() => hubOptionsFromEnv({ MESHWORK_RECEIPTS_SAME_NETWORK: 'sometimes' })).toThrow(/^MESHWORK_RECEIPTS_SAME_NETWORK must be "on" or "off"/)
  })

  it('names the variable that is wrong', () => {
    expect(() => hubOptionsFromEnv({ PORT: 'eighty' })).toThrow(/^PORT must be an integer from 0 to 65535/)
    expect(() => hubOptionsFromEnv({ MESHWORK_DEMO: 'maybe' })).toThrow(/^MESHWORK_DEMO must be "on" or "off"/)
    expect(() => hubOptionsFromEnv({ MESHWORK_DEMO_PARAMS: '{m:1}' })).toThrow(/^MESHWORK_DEMO_PARAMS must be a JSON object/)
    expect(() => hubOptionsFromEnv({ MESHWORK_LEASE_MS: '5' })).toThrow(/^MESHWORK_LEASE_MS must be/)
    expect(() => hubOptionsFromEnv({ MESHWORK_API_TOKEN: 'short' })).toThrow(/^MESHWORK_API_TOKEN must be at least 16 characters/)
  })

  it('refuses demo params the matmul workload would reject, naming the field', async () => {
    const { dir, remove } = tempDir()
    try {
      await expect(createHub({ dataDir: dir, port: 0, demoParams: { tile: 0 }, log: () => {} })).rejects.toThrow(
        /MESHWORK_DEMO_PARAMS is not valid matmul params: tile: /,
      )
    } finally {
      remove()
    }
  })
})

describe('owner token', () => {
  it('is generated once, stored only as a hash, survives restarts and can be reset', async () => {
    const { dir, remove } = tempDir()
    const start = (reset = false) => createHub({ dataDir: dir, port: 0, demo: false, runLoops: false, resetApiToken: reset, log: () => {} })
    const jobs = async (url: string, token: string) =>
      (await fetch(`${url}/api/v1/jobs`, { headers: { authorization: `Bearer ${token}` } })).status
    try {
      const first = await start()
      expect(first.ownerToken.source).toBe('generated')
      const token = first.ownerToken.token!
      expect(token).toMatch(/^mw_[A-Za-z0-9_-]{43}$/)
      await first.listen()
      expect(await jobs(first.url!, token)).toBe(200)
      await first.close()
      // Only the hash is on disk.
      for (const file of fs.readdirSync(dir)) expect(fs.readFileSync(path.join(dir, file)).includes(token)).toBe(false)

      const second = await start()
      expect(second.ownerToken).toMatchObject({ source: 'stored' })
      expect(second.ownerToken.token).toBeUndefined()
      await second.listen()
      expect(await jobs(second.url!, token)).toBe(200)
      await second.close()

      const third = await start(true)
      expect(third.ownerToken.source).toBe('generated')
      await third.listen()
      expect(await jobs(third.url!, token)).toBe(401)
      expect(await jobs(third.url!, third.ownerToken.token!)).toBe(200)
      await third.close()
    } finally {
      remove()
    }
  })
})
