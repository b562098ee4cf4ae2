/**
 * The hub in one object: store, ingest, loops and HTTP server, wired together. `main.ts` builds one from the
 * environment; tests and the benchmark build one in-process on port 0 with a temporary DATA_DIR.
 */
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import { createBlobCache } from './blob-cache.ts'
import { createApp } from './http/app.ts'
import type { HubMetrics } from './http/context.ts'
import type { AnyRoute } from './http/route.ts'
import { createIngest, type Ingest } from './ingest.ts'
import { createCreditLoop } from './loops/credit.ts'
import type { Loop } from './loops/loop.ts'
import { createSchedulerLoop } from './loops/scheduler.ts'
import { createValidatorLoop } from './loops/validator.ts'
import { ensureOwnerToken, type OwnerToken } from './owner-token.ts'
import { startHubPeer, type HubPeer, type HubPeerOptions, type IceServer } from './p2p/index.ts'
import type { TlsOptions } from './p2p/hub-peer.ts'
import { createPrometheus, instrumentStore } from './metrics.ts'
import { networkOf, type ReceiptRules } from './receipts/index.ts'
import { DEFAULT_VERIFICATION, type VerificationOptions } from './verification.ts'
import { createDemoSeederLoop, demoParams } from './seed.ts'
import { openStore } from './store/index.ts'
import type { Store } from './store/types.ts'

export interface HubOptions {
  /** Folder holding the database (and the hub's other files); created if missing. */
  dataDir: string
  /**
   * A `postgres://` or `postgresql://` URL: the hub keeps its state in that Postgres database, which several hubs may
   * share. @default unset: a SQLite file in `dataDir`
   */
  databaseUrl?: string
  /** Folder of the built app served at `/`. @default './dist' */
  staticDir?: string
  /** 0 picks a free port (see `listen()`). @default 8080 */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** Owner token chosen by the operator; when unset, one is generated at first start and only its hash is kept. */
  apiToken?: string
  /** Replace the stored generated owner token with a new one. @default false */
  resetApiToken?: boolean
  /** Keep a demo matmul job open so visitors always have work. @default true */
  demo?: boolean
  /** Matmul params over `DEFAULT_DEMO_PARAMS` for demo jobs. */
  demoParams?: Record<string, unknown>
  /** How long a device has to return a leased unit. @default 600000 */
  leaseMs?: number
  /** Interval of the validator and credit loops (they are also woken on every commit). @default 200 */
  loopIntervalMs?: number
  /** Start the loops; tests that step them with `runOnce()` turn this off. @default true */
  runLoops?: boolean
  /** Where the hub writes its log lines. @default console.log */
  log?: (line: string) => void
  /** @default Date.now */
  now?: () => number
  /** The peer network (libp2p): browsers dial it over WebSockets, relay through it and announce on it. `false` turns it off. */
  p2p?: HubP2POptions | false
  /** Rules for crediting bandwidth receipts. */
  receipts?: ReceiptRules
  /**
   * Behind a reverse proxy that appends the client's address to X-Forwarded-For: take the caller's address from it
   * (MESHWORK_TRUST_PROXY). @default false
   */
  trustProxy?: boolean
  /** Replicas, quotas, spot checks and caps. @default DEFAULT_VERIFICATION */
  verification?: VerificationOptions
  /**
   * The origin people reach the hub at, e.g. `https://hub.example.org`: wallet sign-ins must name its host as their
   * domain. @default the listening URL (`http://HOST:PORT`)
   */
  publicUrl?: string
  /**
   * Serve HTTPS (and the peer network's WebSockets over TLS) with this certificate and key. Service workers and WebGPU
   * need a secure context, which anywhere but localhost means HTTPS. @default plain HTTP (e.g. behind a TLS proxy)
   */
  tls?: TlsOptions
  /** Requests a second per device and per network on public and volunteer routes. @default DEFAULT_RATE_LIMITS */
  rateLimits?: import('./http/rate-limit.ts').RateLimits
  /** Token rewards: chain, contract, reward key and rate. Unset: the Wallet page says rewards are not configured. */
  rewards?: import('./wallet/vouchers.ts').RewardsConfig
}

/** The hub's peer network, as configured in HubOptions. */
export interface HubP2POptions extends Omit<HubPeerOptions, 'dataDir' | 'log' | 'port' | 'host'> {
  /** TCP port of the WebSockets listener; 0 picks a free one. @default the HTTP port + 1 (0 when the HTTP port is 0) */
  port?: number
  /** @default the HTTP host */
  host?: string
  /** STUN/TURN servers browsers use for WebRTC between volunteers. @default [] (enough on a LAN or loopback only) */
  iceServers?: IceServer[]
}

export interface HubLoops {
  scheduler: Loop
  validator: Loop
  credit: Loop
  /** Present when demo mode is on. */
  seeder?: Loop
}

export interface Hub {
  readonly store: Store
  /** Result ingest; `ingest.stats.transactions` counts the group-commit transactions. */
  readonly ingest: Ingest
  readonly loops: HubLoops
  readonly metrics: Readonly<HubMetrics>
  readonly ownerToken: OwnerToken
  /** The Hono app (its `fetch` works without listening). */
  readonly app: Hono
  /** The declared API routes. */
  readonly routes: AnyRoute[]
  /** `http://host:port` once listening. */
  readonly url: string | undefined
  /** The hub's libp2p node once listening; undefined before, and when the peer network is off. */
  readonly p2p: HubPeer | undefined
  /** Starts the peer network (unless off), then the HTTP server; resolves to the HTTP port (useful with port 0). */
  listen(): Promise<number>
  /** Stops the server, the peer network, the loops and the ingest queue, then closes the store. Safe to call twice. */
  close(): Promise<void>
}

/** Reads the version from package.json. */
function hubVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return `${error.stack ?? error.message}${error.cause ? `\n  caused by: ${describe(error.cause)}` : ''}`
}

// A device's last-seen time is refreshed at most this often, so reads by a busy device cost no write.
const DEVICE_TOUCH_INTERVAL_MS = 60_000

/** Opens the store, prepares the owner token and the demo job, and wires ingest, loops and HTTP. */
export async function createHub(options: HubOptions): Promise<Hub> {
  const {
    dataDir,
    staticDir = './dist',
    port = 8080,
    host = '127.0.0.1',
    demo = true,
    leaseMs = 600_000,
    loopIntervalMs = 200,
    runLoops = true,
    log = console.log,
    now = Date.now,
  } = options
  const verification = { ...DEFAULT_VERIFICATION, ...options.verification }
  // Fail on bad demo params before anything is opened.
  const seedParams = demo ? demoParams(options.demoParams) : undefined

  fs.mkdirSync(dataDir, { recursive: true })
  const rawStore = await openStore({ dataDir, databaseUrl: options.databaseUrl })
  const prometheus = createPrometheus(rawStore)
  const store = instrumentStore(rawStore, prometheus.observeStore)
  try {
    const ownerToken = await ensureOwnerToken(store, { token: options.apiToken, reset: options.resetApiToken })
    const onError = (error: unknown) => log(describe(error))

    const seeder = seedParams
      ? createDemoSeederLoop(store, {
          params: seedParams,
          onSeeded: (job) => log(`Seeded demo job ${job.id}: ${job.label} (${job.units.total} units).`),
          onError,
        })
      : undefined
    const scheduler = createSchedulerLoop(store, { intervalMs: Math.max(loopIntervalMs, 1000), onError })
    const credit = createCreditLoop(store, {
      intervalMs: loopIntervalMs,
      maxDeviceFlopsPerMs: verification.maxDeviceFlopsPerMs,
      onError,
      onJobsDone: () => seeder?.wake(),
    })
    const blobs = createBlobCache(store)
    const validator = createValidatorLoop(store, {
      intervalMs: loopIntervalMs,
      // A pass on a pooled store (Postgres) is several round trips, each waiting on this busy event loop: bigger passes
      // spread them over more results. SQLite's pass is one synchronous transaction, kept short.
      ...(store.commitsInCallOrder ? {} : { batch: 512 }),
      getBlob: (hash) => blobs.get(hash),
      maxFlopsPerMs: verification.maxDeviceFlopsPerMs,
      onWork: () => credit.wake(),
      onError,
    })
    const ingest = createIngest(store, { onCommit: () => validator.wake() })
    const metrics: HubMetrics = { blobBytesServed: 0, blobsServed: 0, blobsByHash: new Map() }

    // A device's network is written as soon as it changes, so the receipts' independence rule sees the current one.
    const touched = new Map<string, { at: number; network: string | undefined }>()
    const onDevice = async (deviceId: string, address: string | undefined) => {
      const t = now()
      const network = networkOf(address)
      const last = touched.get(deviceId)
      if (last && t - last.at < DEVICE_TOUCH_INTERVAL_MS && last.network === network) return
      if (touched.size > 100_000) touched.clear()
      touched.set(deviceId, { at: t, network })
      await store.touchDevice(deviceId, t, network)
    }

    const p2pOptions = options.p2p === false ? undefined : (options.p2p ?? {})
    let peer: HubPeer | undefined

    const { app, routes } = createApp({
      context: {
        store,
        ingest,
        blobs,
        metrics,
        p2p: () =>
          peer && {
            peerId: peer.peerId,
            port: peer.port,
            announce: peer.announce,
            multiaddrs: () => peer?.multiaddrs() ?? [],
            iceServers: p2pOptions?.iceServers ?? [],
            stats: () => peer!.stats(),
          },
        receipts: options.receipts ?? {},
        publicUrl: () => options.publicUrl ?? url ?? 'http://127.0.0.1',
        ...(options.rewards ? { rewards: options.rewards } : {}),
        leaseMs,
        verification,
        version: hubVersion(),
        startedAt: now(),
        now,
      },
      ownerTokenHash: ownerToken.hash,
      onDevice,
      staticDir,
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
      prometheus,
      ...(options.trustProxy ? { trustProxy: true } : {}),
      security: {
        ...(options.rewards ? { chainRpcOrigin: new URL(options.rewards.rpcUrl).origin } : {}),
        https: Boolean(options.tls),
      },
      log,
    })

    // The first demo job exists before the first visitor arrives.
    if (seeder) await seeder.runOnce()
    const loops: HubLoops = { scheduler, validator, credit, ...(seeder ? { seeder } : {}) }
    if (runLoops) for (const loop of Object.values(loops)) loop.start()

    let server: Server | undefined
    let url: string | undefined
    let closing: Promise<void> | undefined

    return {
      store,
      ingest,
      loops,
      metrics,
      ownerToken,
      app,
      routes,
      get url() {
        return url
      },
      get p2p() {
        return peer
      },
      async listen() {
        if (server) throw new Error(`The hub is already listening at ${url}.`)
        if (closing) throw new Error('The hub is closed.')
        const s = (
          options.tls
            ? createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: { cert: options.tls.cert, key: options.tls.key } })
            : createAdaptorServer({ fetch: app.fetch })
        ) as Server
        server = s
        if (p2pOptions) {
          const { iceServers: _iceServers, ...peerOptions } = p2pOptions
          try {
            peer = await startHubPeer({
              ...peerOptions,
              dataDir,
              host: p2pOptions.host ?? host,
              port: p2pOptions.port ?? (port > 0 && port < 65535 ? port + 1 : 0),
              log,
              ...(options.tls ? { tls: options.tls } : {}),
            })
          } catch (error) {
            server = undefined
            throw new Error(`The peer network could not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
          }
        }
        try {
          await new Promise<void>((resolve, reject) => {
            s.once('error', reject)
            s.listen(port, host, () => {
              s.off('error', reject)
              resolve()
            })
          })
        } catch (error) {
          server = undefined
          await peer?.stop()
          peer = undefined
          throw error
        }
        const bound = (s.address() as AddressInfo).port
        url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`
        return bound
      },
      close() {
        closing ??= (async () => {
          if (server) {
            const s = server
            const closed = new Promise<void>((resolve) => s.close(() => resolve()))
            s.closeIdleConnections()
            // Requests in flight get a moment to finish (their results are committed before they answer).
            const timer = setTimeout(() => s.closeAllConnections(), 2000)
            await closed
            clearTimeout(timer)
          }
          await peer?.stop()
          await Promise.all(Object.values(loops).map((loop) => loop.stop()))
          await ingest.flush()
          await store.close()
        })()
        return closing
      },
    }
  } catch (error) {
    await store.close()
    throw error
  }
}
