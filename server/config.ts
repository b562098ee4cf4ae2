/** Hub options from environment variables; every error names the variable and what it should hold. */
import fs from 'node:fs'
import { DEFAULT_VERIFICATION, type VerificationOptions } from './verification.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { P2PConfig } from '../protocol/p2p.ts'
import { describeZodError } from '../protocol/schemas.ts'
import type { HubOptions, HubP2POptions } from './hub.ts'
import { DEFAULT_RATE_LIMITS, type RateLimit } from './http/rate-limit.ts'
import { isPostgresUrl, redactDatabaseUrl } from './store/index.ts'

type Env = Record<string, string | undefined>

function fail(name: string, expected: string, got: string): never {
  throw new Error(`${name} must be ${expected}, got "${got}".`)
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim()
  if (!text) return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) fail(name, `an integer from ${min} to ${max}`, text)
  return value
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const text = env[name]?.trim().toLowerCase()
  if (!text) return fallback
  if (['on', 'true', '1', 'yes'].includes(text)) return true
  if (['off', 'false', '0', 'no'].includes(text)) return false
  return fail(name, '"on" or "off"', text)
}

/** The peer network's settings: MESHWORK_P2P, MESHWORK_P2P_PORT, MESHWORK_P2P_HOST, MESHWORK_P2P_ANNOUNCE, MESHWORK_ICE_SERVERS. */
function p2pFromEnv(env: Env, httpPort: number): HubP2POptions | false {
  if (!flag(env, 'MESHWORK_P2P', true)) return false
  // PORT + 1 by default; 0 (from PORT=0 or set explicitly) lets the system pick a free port.
  const fallbackPort = httpPort === 0 ? 0 : httpPort + 1
  if (fallbackPort > 65535 && !env.MESHWORK_P2P_PORT?.trim()) {
    fail('MESHWORK_P2P_PORT', 'set when PORT is 65535 (the peer port defaults to PORT + 1)', '')
  }
  const port = integer(env, 'MESHWORK_P2P_PORT', fallbackPort, 0, 65535)
  const host = env.MESHWORK_P2P_HOST?.trim() || undefined
  const announce = (env.MESHWORK_P2P_ANNOUNCE ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
  for (const addr of announce) {
    try {
      multiaddr(addr)
    } catch {
      fail('MESHWORK_P2P_ANNOUNCE', 'a comma-separated list of multiaddrs such as /dns4/hub.example.org/tcp/443/wss', addr)
    }
  }
  if (announce.length > 16) fail('MESHWORK_P2P_ANNOUNCE', 'at most 16 multiaddrs', `${announce.length} of them`)
  let iceServers: HubP2POptions['iceServers']
  const iceText = env.MESHWORK_ICE_SERVERS?.trim()
  if (iceText) {
    let value: unknown
    try {
      value = JSON.parse(iceText)
    } catch {
      fail('MESHWORK_ICE_SERVERS', 'a JSON array of RTCIceServer objects such as [{"urls":"stun:stun.example.org:3478"}]', iceText)
    }
    const parsed = P2PConfig.shape.iceServers.safeParse(value)
    if (!parsed.success) fail('MESHWORK_ICE_SERVERS', `a JSON array of RTCIceServer objects (${describeZodError(parsed.error)})`, iceText)
    iceServers = parsed.data
  }
  return {
    port,
    ...(host ? { host } : {}),
    ...(announce.length ? { announce } : {}),
    ...(iceServers ? { iceServers } : {}),
  }
}

/**
 * Reads PORT (8080), HOST (127.0.0.1), DATA_DIR (./data), DATABASE_URL (unset: SQLite in DATA_DIR; a postgres:// URL:
 * that Postgres database), STATIC_DIR (./dist), MESHWORK_API_TOKEN,
 * MESHWORK_RESET_TOKEN (off), MESHWORK_DEMO (on), MESHWORK_DEMO_PARAMS (JSON), MESHWORK_LEASE_MS (600000),
 * the peer network's MESHWORK_P2P (on), MESHWORK_P2P_PORT (PORT + 1; 0 = any free port), MESHWORK_P2P_HOST (HOST),
 * MESHWORK_P2P_ANNOUNCE (comma-separated multiaddrs), MESHWORK_ICE_SERVERS (JSON) and
 * MESHWORK_RECEIPTS_SAME_NETWORK (off), the rate limits MESHWORK_RATE_DEVICE (20) and MESHWORK_RATE_NETWORK (300)
 * (requests a second per device and per IPv4 /24 or IPv6 /48; 0 = none), the verification settings of
 * `verificationFromEnv` below, and MESHWORK_TRUST_PROXY (off: take callers' addresses from X-Forwarded-For, only behind
 * a reverse proxy that sets it). Token rewards (MESHWORK_REWARDS, MESHWORK_CHAIN_RPC, MESHWORK_CHAIN_ID,
 * MESHWORK_REWARD_CONTRACT, MESHWORK_REWARD_RATE, MESHWORK_REWARD_KEY) are read by `rewardsFromEnv` in
 * wallet/config.ts, which may read and write DATA_DIR. MESHWORK_TLS_CERT and MESHWORK_TLS_KEY (PEM files) serve HTTPS.
 */
export function hubOptionsFromEnv(env: Env = process.env): HubOptions {
  const token = env.MESHWORK_API_TOKEN
  if (token !== undefined && token.length > 0 && (token.length < 16 || /\s/.test(token))) {
    fail('MESHWORK_API_TOKEN', 'at least 16 characters without spaces', `${token.slice(0, 3)}…`)
  }
  let demoParams: Record<string, unknown> | undefined
  const demoText = env.MESHWORK_DEMO_PARAMS?.trim()
  if (demoText) {
    try {
      demoParams = JSON.parse(demoText)
    } catch {
      fail('MESHWORK_DEMO_PARAMS', 'a JSON object of matmul params such as {"m":512,"n":512,"k":512,"tile":128}', demoText)
    }
    if (typeof demoParams !== 'object' || demoParams === null || Array.isArray(demoParams)) {
      fail('MESHWORK_DEMO_PARAMS', 'a JSON object', demoText)
    }
  }
  const port = integer(env, 'PORT', 8080, 0, 65535)
  return {
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    dataDir: env.DATA_DIR?.trim() || './data',
    ...databaseUrlFromEnv(env),
    staticDir: env.STATIC_DIR?.trim() || './dist',
    apiToken: token || undefined,
    resetApiToken: flag(env, 'MESHWORK_RESET_TOKEN', false),
    demo: flag(env, 'MESHWORK_DEMO', true),
    demoParams,
    leaseMs: integer(env, 'MESHWORK_LEASE_MS', 600_000, 1000, 30 * 24 * 3600 * 1000),
    p2p: p2pFromEnv(env, port),
    receipts: { allowSameNetwork: flag(env, 'MESHWORK_RECEIPTS_SAME_NETWORK', false) },
    verification: verificationFromEnv(env),
    ...(flag(env, 'MESHWORK_TRUST_PROXY', false) ? { trustProxy: true } : {}),
    rateLimits: {
      device: rate(integer(env, 'MESHWORK_RATE_DEVICE', DEFAULT_RATE_LIMITS.device.perSecond, 0, 1_000_000)),
      network: rate(integer(env, 'MESHWORK_RATE_NETWORK', DEFAULT_RATE_LIMITS.network.perSecond, 0, 1_000_000)),
    },
    ...publicUrlFromEnv(env),
    ...tlsFromEnv(env),
  }
}

/**
 * DATABASE_URL: a postgres:// or postgresql:// URL selects the Postgres store (several hubs may share its database);
 * unset or empty keeps the SQLite file in DATA_DIR. Anything else is refused rather than silently ignored.
 */
function databaseUrlFromEnv(env: Env): { databaseUrl?: string } {
  const text = env.DATABASE_URL?.trim()
  if (!text) return {}
  const expected = 'a postgres:// or postgresql:// URL such as postgres://meshwork:secret@db.example.org:5432/meshwork (unset for SQLite in DATA_DIR)'
  if (!isPostgresUrl(text)) fail('DATABASE_URL', expected, redactDatabaseUrl(text))
  // A unix socket URL may leave the host empty (postgres://user@/db?host=/run/postgresql), which URL cannot parse.
  const parseable = text.replace(/^(postgres(?:ql)?:\/\/(?:[^@/?]*@)?)(?=[/?]|$)/i, '$1localhost')
  try {
    new URL(parseable)
  } catch {
    fail('DATABASE_URL', expected, redactDatabaseUrl(text))
  }
  return { databaseUrl: text }
}

/**
 * MESHWORK_REPLICAS_SAME_NETWORK (off), MESHWORK_DAILY_QUOTA (10000 units), MESHWORK_TRUST_AFTER (10 valid results;
 * 0 = always replicate), MESHWORK_SPOT_CHECKS (0.02 of the units, 0 to 1), MESHWORK_MAX_DEVICE_GFLOPS (100000).
 */
function verificationFromEnv(env: Env): VerificationOptions {
  const spotText = env.MESHWORK_SPOT_CHECKS?.trim()
  const spot = spotText ? Number(spotText) : DEFAULT_VERIFICATION.spotCheckFraction
  if (!Number.isFinite(spot) || spot < 0 || spot > 1) fail('MESHWORK_SPOT_CHECKS', 'a fraction from 0 to 1 such as 0.02', spotText ?? '')
  return {
    replicasSameNetwork: flag(env, 'MESHWORK_REPLICAS_SAME_NETWORK', false),
    dailyQuota: integer(env, 'MESHWORK_DAILY_QUOTA', DEFAULT_VERIFICATION.dailyQuota, 1, 100_000_000),
    trustAfter: integer(env, 'MESHWORK_TRUST_AFTER', DEFAULT_VERIFICATION.trustAfter, 0, 1_000_000),
    spotCheckFraction: spot,
    maxDeviceFlopsPerMs: integer(env, 'MESHWORK_MAX_DEVICE_GFLOPS', DEFAULT_VERIFICATION.maxDeviceFlopsPerMs / 1e6, 1, 1e9) * 1e6,
  }
}

/** A limit of `perSecond` requests a second with bursts of three seconds' worth (0: no limit). */
function rate(perSecond: number): RateLimit {
  return { perSecond, burst: perSecond * 3 }
}

/** MESHWORK_TLS_CERT and MESHWORK_TLS_KEY: PEM files for serving HTTPS directly (both or neither). */
function tlsFromEnv(env: Env): { tls?: { cert: Buffer; key: Buffer } } {
  const certPath = env.MESHWORK_TLS_CERT?.trim()
  const keyPath = env.MESHWORK_TLS_KEY?.trim()
  if (!certPath && !keyPath) return {}
  if (!certPath || !keyPath) {
    const missing = certPath ? 'MESHWORK_TLS_KEY' : 'MESHWORK_TLS_CERT'
    fail(missing, 'set together with ' + (certPath ? 'MESHWORK_TLS_CERT' : 'MESHWORK_TLS_KEY') + ' (PEM file paths)', '')
  }
  const read = (name: string, file: string, marker: string): Buffer => {
    let bytes: Buffer
    try {
      bytes = fs.readFileSync(file)
    } catch (error) {
      throw new Error(`${name} must name a readable PEM file: ${(error as Error).message}`)
    }
    if (!bytes.toString('latin1').includes(marker)) fail(name, `a PEM file containing ${marker}`, file)
    return bytes
  }
  return { tls: { cert: read('MESHWORK_TLS_CERT', certPath, '-----BEGIN CERTIFICATE-----'), key: read('MESHWORK_TLS_KEY', keyPath, 'PRIVATE KEY-----') } }
}

/** MESHWORK_PUBLIC_URL: the origin wallet sign-ins must name (unset: the listening URL). */
function publicUrlFromEnv(env: Env): { publicUrl?: string } {
  const text = env.MESHWORK_PUBLIC_URL?.trim()
  if (!text) return {}
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new Error(`MESHWORK_PUBLIC_URL must be an http(s) origin such as https://hub.example.org (got "${text}").`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`MESHWORK_PUBLIC_URL must use http or https (got "${text}").`)
  return { publicUrl: url.origin }
}
