/**
 * The browser's libp2p node. Loaded lazily (this module pulls in all of libp2p, about 180 KB gzipped) when the person
 * starts contributing. It reserves a slot on the hub's circuit relay, listens for WebRTC through it, announces itself
 * on the peers topic, dials peers working on the same jobs directly over WebRTC, serves verified blobs and fetches
 * blobs from peers that announced them.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub, type GossipsubMessage } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Connection, Libp2p } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { DeviceKey } from '../../../protocol/index.ts'
import {
  BLOB_PROTOCOL,
  MAX_ANNOUNCED_BLOBS,
  MAX_ANNOUNCED_JOBS,
  MAX_P2P_MESSAGE_BYTES,
  PeerAnnouncement,
  type P2PConfig,
} from '../../../protocol/p2p.ts'
import { fetchBlob, PeerFetchError, serveBlob } from './exchange.ts'
import { deviceLibp2pKey } from './identity.ts'

type Services = { identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub; ping: Ping }

export interface PeerView {
  peerId: string
  /** 'direct' (WebRTC) or 'relayed' (through the hub's circuit relay: signalling only). */
  kind: 'direct' | 'relayed'
  rttMs: number | undefined
  /** Works on one of this device's jobs. */
  sameJob: boolean
}

export interface PeerStats {
  peers: PeerView[]
  bytesServed: number
  bytesReceived: number
  blobsServed: number
  blobsReceived: number
  /** Peers dropped for sending bytes that did not match their hash. */
  dropped: string[]
  /** The last few fetches from a peer that failed ("<peer id>: <why>"); the input then came from elsewhere. */
  failures: string[]
  relay: 'connecting' | 'reserved' | 'unreachable'
}

export interface PeerNodeOptions {
  config: P2PConfig
  key: DeviceKey
  /** Bytes of a verified blob this device holds (serving; the receiver verifies). */
  readBlob: (hash: string) => Promise<Uint8Array | undefined>
  /** What to announce: jobs this device leases units of, and blobs it holds. */
  announcement: () => Promise<{ jobs: string[]; blobs: string[] }>
  /** Called whenever the stats change. */
  onChange: (stats: PeerStats) => void
  /** Most peer connections kept besides the hub. @default 16 */
  maxPeers?: number
  /** @default 5000 */
  announceIntervalMs?: number
}

export interface PeerFetchResult {
  bytes: Uint8Array
  from: string
}

interface KnownPeer {
  jobs: Set<string>
  blobs: Set<string>
  fetching: Set<string>
  addrs: Multiaddr[]
  seenAt: number
}

const ANNOUNCE_STALE_MS = 30_000
/** Bursts of announcement triggers within this window become one message. */
const ANNOUNCE_COALESCE_MS = 150
/** How long a download claim waits for competing claims before it counts. */
const CLAIM_SETTLE_MS = 400
/** How long after its first announcement reached the hub a newcomer waits for the peers' answers. */
const JOIN_ANSWER_MS = 1500
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class PeerNode {
  readonly #options: PeerNodeOptions
  readonly #node: Libp2p<Services>
  readonly #known = new Map<string, KnownPeer>()
  readonly #banned = new Set<string>()
  readonly #rtt = new Map<string, number>()
  readonly #dialing = new Map<string, Promise<Connection | undefined>>()
  #myJobs = new Set<string>()
  #timers: ReturnType<typeof setInterval>[] = []
  #stats: Omit<PeerStats, 'peers'> = { bytesServed: 0, bytesReceived: 0, blobsServed: 0, blobsReceived: 0, dropped: [], failures: [], relay: 'connecting' }
  #stopped = false
  #announceTimer: ReturnType<typeof setTimeout> | undefined
  readonly #fetching = new Set<string>()
  readonly #waiters = new Set<() => void>()
  /** When this node's first announcement reached the hub (from then on the others answer within a round trip). */
  #firstHeardAt: number | undefined

  private constructor(options: PeerNodeOptions, node: Libp2p<Services>) {
    this.#options = options
    this.#node = node
  }

  static async start(options: PeerNodeOptions): Promise<PeerNode> {
    const { config, key, maxPeers = 16 } = options
    const node = await createLibp2p({
      privateKey: deviceLibp2pKey(key),
      addresses: { listen: ['/p2p-circuit', '/webrtc'] },
      transports: [
        webSockets(),
        webRTC({ rtcConfiguration: { iceServers: config.iceServers } }),
        circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
      ],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // The hub may be on loopback or a LAN address over ws:// (the browser default refuses both).
      connectionGater: { denyDialMultiaddr: () => false },
      connectionManager: { maxConnections: maxPeers + 4 },
      services: {
        identify: identify(),
        ping: ping(),
        // Volunteers behind one NAT (or one test machine) share an IP: colocation must not score them out.
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 } }),
      },
    })
    const self = new PeerNode(options, node)
    await self.#init()
    return self
  }

  get peerId(): string {
    return this.#node.peerId.toString()
  }

  /** The libp2p node itself, for benchmarks and diagnostics. */
  get libp2p(): Libp2p<Services> {
    return this.#node
  }

  async #init(): Promise<void> {
    const { config } = this.#options
    await this.#node.handle(
      BLOB_PROTOCOL,
      (stream) =>
        serveBlob(stream, {
          read: this.#options.readBlob,
          onServed: (_hash, bytes) => {
            this.#stats.bytesServed += bytes
            this.#stats.blobsServed += 1
            this.#emit()
          },
        }),
      // Bulk bytes never cross the hub's relay: only direct WebRTC connections carry blobs.
      { runOnLimitedConnection: false, maxInboundStreams: 8 },
    )
    const pubsub = this.#node.services.pubsub
    pubsub.addEventListener('gossipsub:message', (event) => this.#onMessage(event.detail))
    pubsub.subscribe(config.topic)
    // self:peer:update is debounced by a second inside libp2p: announce as soon as the relay listener holds its
    // reservation, and again when the hub's subscription to the topic is known (before that, a publish reaches nobody).
    const onAddresses = () => {
      if (this.#circuitAddrs().length) this.#stats.relay = 'reserved'
      this.#emit()
      this.announceSoon()
    }
    this.#node.addEventListener('self:peer:update', onAddresses)
    this.#node.addEventListener('transport:listening', onAddresses)
    pubsub.addEventListener('subscription-change', ({ detail }) => {
      if (detail.peerId.toString() === config.peerId && detail.subscriptions.some((sub) => sub.topic === config.topic && sub.subscribe)) this.announceSoon()
    })
    this.#node.addEventListener('connection:open', () => this.#emit())
    this.#node.addEventListener('connection:close', () => this.#emit())
    await this.#dialHub()
    this.#timers.push(setInterval(() => void this.announce(), this.#options.announceIntervalMs ?? 5000))
    this.#timers.push(setInterval(() => void this.#maintain(), 5000))
  }

  async #dialHub(): Promise<void> {
    for (const addr of this.#options.config.multiaddrs) {
      try {
        await this.#node.dial(multiaddr(addr))
        return
      } catch {
        // Try the next address; #maintain retries later.
      }
    }
    this.#stats.relay = 'unreachable'
    this.#emit()
  }

  /** The relay circuit addresses other peers can reach this one on. */
  #circuitAddrs(): Multiaddr[] {
    const circuits = this.#node.getMultiaddrs().filter((ma) => ma.toString().includes('/p2p-circuit'))
    const webrtc = circuits.filter((ma) => ma.toString().includes('/p2p-circuit/webrtc/'))
    return webrtc.length ? webrtc : circuits
  }

  /** Sets the jobs this device works on (peers on the same jobs are dialled first). */
  setJobs(jobs: Iterable<string>): void {
    this.#myJobs = new Set(jobs)
  }

  /**
   * Announces within ANNOUNCE_COALESCE_MS, folding bursts (a unit storing three blobs, a newcomer arriving) into one
   * message that carries the latest state: the hub rate-limits each publisher, and a dropped message would be the newest.
   */
  announceSoon(): void {
    if (this.#announceTimer !== undefined || this.#stopped) return
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined
      void this.announce()
    }, ANNOUNCE_COALESCE_MS)
  }

  /** Publishes this device's jobs, blobs and downloads in progress on the peers topic. */
  async announce(): Promise<void> {
    if (this.#stopped) return
    const addrs = this.#circuitAddrs().map((ma) => ma.toString())
    if (!addrs.length) return
    const { jobs, blobs } = await this.#options.announcement()
    const message: PeerAnnouncement = {
      v: 1,
      jobs: jobs.slice(0, MAX_ANNOUNCED_JOBS),
      blobs: blobs.slice(0, MAX_ANNOUNCED_BLOBS),
      fetching: [...this.#fetching].slice(0, MAX_ANNOUNCED_BLOBS),
      addrs: addrs.slice(0, 8),
    }
    try {
      const { recipients } = await this.#node.services.pubsub.publish(this.#options.config.topic, encoder.encode(JSON.stringify(message)))
      if (recipients.length && this.#firstHeardAt === undefined) {
        this.#firstHeardAt = Date.now()
        this.#wake()
      }
    } catch {
      // No subscribers yet (the hub is restarting): the next interval tries again.
    }
  }

  #onMessage({ msg }: GossipsubMessage): void {
    if (msg.topic !== this.#options.config.topic || msg.type !== 'signed') return
    const from = msg.from.toString()
    if (from === this.peerId || this.#banned.has(from) || msg.data.byteLength > MAX_P2P_MESSAGE_BYTES) return
    let parsed: ReturnType<typeof PeerAnnouncement.safeParse>
    try {
      parsed = PeerAnnouncement.safeParse(JSON.parse(decoder.decode(msg.data)))
    } catch {
      return
    }
    if (!parsed.success) return
    const addrs = parsed.data.addrs.flatMap((text) => {
      try {
        const ma = multiaddr(text)
        // Only relay circuits ending in this very peer: an announcement cannot point dials elsewhere.
        return text.includes('/p2p-circuit') && text.endsWith(`/p2p/${from}`) ? [ma] : []
      } catch {
        return []
      }
    })
    const isNew = !this.#known.has(from)
    this.#known.set(from, {
      jobs: new Set(parsed.data.jobs),
      blobs: new Set(parsed.data.blobs),
      fetching: new Set(parsed.data.fetching),
      addrs,
      seenAt: Date.now(),
    })
    // A newcomer learns about us now rather than at our next interval.
    if (isNew) this.announceSoon()
    this.#wake()
    if (parsed.data.jobs.some((j) => this.#myJobs.has(j))) void this.#connect(from)
  }

  /**
   * Claims the download of `hash` from the hub, so that peers needing it wait for this node instead of downloading it
   * too. Resolves to false when a peer is already downloading it (wait for that copy: waitForDownload), or when a peer
   * with a smaller id claimed it at the same time (it keeps the claim; this one steps back): claims cross the hub's
   * gossipsub within a round trip, so after CLAIM_SETTLE_MS every claimant agrees on the winner. A node alone claims
   * too: a peer that joins during the download sees it in this node's announcements and waits for it.
   */
  async claimDownload(hash: string): Promise<boolean> {
    if (this.#otherFetcher(hash, 'any')) return false
    this.#fetching.add(hash)
    this.announceSoon()
    if (!this.#known.size) return true
    await new Promise((resolve) => setTimeout(resolve, CLAIM_SETTLE_MS))
    if (this.#otherFetcher(hash, 'smaller id')) {
      this.#fetching.delete(hash)
      this.announceSoon()
      return false
    }
    return true
  }

  /** Ends a claim (the blob is stored, or the download failed). */
  releaseDownload(hash: string): void {
    if (this.#fetching.delete(hash)) this.announceSoon()
  }

  /** A live peer (any, or one with a smaller id: the tie-break of claims) that claimed `hash` and does not hold it yet. */
  #otherFetcher(hash: string, which: 'any' | 'smaller id'): string | undefined {
    const now = Date.now()
    for (const [id, p] of this.#known) {
      if (which === 'smaller id' && id >= this.peerId) continue
      if (p.fetching.has(hash) && !p.blobs.has(hash) && now - p.seenAt < ANNOUNCE_STALE_MS && !this.#banned.has(id)) return id
    }
    return undefined
  }

  /**
   * Waits up to `ms` while a peer downloads `hash`: resolves true once some peer announces it holds it, false when the
   * claimant gives up (its claim disappears) or time runs out.
   */
  async waitForDownload(hash: string, ms: number): Promise<boolean> {
    return this.#waitUntil(() => (this.#announced(hash) ? true : this.#otherFetcher(hash, 'any') ? undefined : false), ms)
  }

  async #waitUntil(test: () => boolean | undefined, ms: number): Promise<boolean> {
    const now = test()
    if (now !== undefined) return now
    return new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(value)
      }
      const check = () => {
        const value = test()
        if (value !== undefined) done(value)
      }
      const timer = setTimeout(() => done(false), ms)
      this.#waiters.add(check)
    })
  }

  /** Whether a fresh announcement lists `hash`. */
  #announced(hash: string): boolean {
    const now = Date.now()
    for (const [id, p] of this.#known) if (p.blobs.has(hash) && now - p.seenAt < ANNOUNCE_STALE_MS && !this.#banned.has(id)) return true
    return false
  }

  /**
   * Whether this node has joined: its first announcement reached the hub JOIN_ANSWER_MS ago, so the peers' answers (a
   * newcomer's first announcement makes every peer announce at once) have arrived.
   */
  get joined(): boolean {
    return this.#firstHeardAt !== undefined && Date.now() - this.#firstHeardAt >= JOIN_ANSWER_MS
  }

  /**
   * Waits, for at most `ms`, until this node has joined or a peer announces `hash` (true: some peer holds it or is
   * downloading it). Joining is an event, not a fixed time: the relay reservation and the first announcement take a
   * few hundred milliseconds on an idle machine and several seconds on a loaded one.
   */
  async waitToJoin(hash: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    for (;;) {
      if (this.#announced(hash) || this.#otherFetcher(hash, 'any')) return true
      const left = deadline - Date.now()
      if (this.joined || left <= 0) return false
      const step = this.#firstHeardAt === undefined ? left : Math.min(left, this.#firstHeardAt + JOIN_ANSWER_MS - Date.now())
      // Woken by every announcement and by this node's first one reaching the hub (then the step shortens).
      const heardAt = this.#firstHeardAt
      await this.#waitUntil(() => (this.#announced(hash) || this.#otherFetcher(hash, 'any') || this.#firstHeardAt !== heardAt ? true : undefined), Math.max(step, 1))
    }
  }

  /** A direct (WebRTC) connection to `peerId`, dialling through the relay when there is none. */
  #connect(peerId: string): Promise<Connection | undefined> {
    const existing = this.#direct(peerId)
    if (existing) return Promise.resolve(existing)
    const inFlight = this.#dialing.get(peerId)
    if (inFlight) return inFlight
    const known = this.#known.get(peerId)
    if (!known?.addrs.length || this.#banned.has(peerId) || this.#directCount() >= (this.#options.maxPeers ?? 16)) return Promise.resolve(undefined)
    const dial = (async () => {
      // A fresh WebRTC dial occasionally fails while its first data channel opens: one retry covers it.
      for (let attempt = 0; attempt < 2 && !this.#stopped; attempt++) {
        for (const circuit of known.addrs) {
          try {
            const text = circuit.toString()
            const target = text.includes('/p2p-circuit/webrtc/') ? text : text.replace(`/p2p/${peerId}`, `/webrtc/p2p/${peerId}`)
            const connection = await this.#node.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) })
            if (!connection.limits) return connection
          } catch {
            // Next address or attempt.
          }
        }
      }
      return undefined
    })().finally(() => {
      this.#dialing.delete(peerId)
      this.#emit()
    })
    this.#dialing.set(peerId, dial)
    return dial
  }

  #direct(peerId: string): Connection | undefined {
    return this.#node.getConnections().find((c) => c.remotePeer.toString() === peerId && !c.limits && c.status === 'open')
  }

  #directCount(): number {
    return new Set(this.#node.getConnections().filter((c) => !c.limits).map((c) => c.remotePeer.toString())).size - 1
  }

  /**
   * The blob from a peer that announced it, verified; undefined when no peer could deliver it (the caller then asks
   * the hub). A peer that sends wrong bytes is disconnected and never asked again.
   */
  async fetch(hash: string, options: { onProgress?: (received: number, size: number) => void; signal?: AbortSignal } = {}): Promise<PeerFetchResult | undefined> {
    const now = Date.now()
    const candidates = [...this.#known.entries()]
      .filter(([id, p]) => p.blobs.has(hash) && now - p.seenAt < ANNOUNCE_STALE_MS && !this.#banned.has(id))
      // Already-connected peers first, then lower round-trip times.
      .sort(([a], [b]) => Number(!this.#direct(a)) - Number(!this.#direct(b)) || (this.#rtt.get(a) ?? 1e9) - (this.#rtt.get(b) ?? 1e9))
      .slice(0, 3)
    for (const [peerId] of candidates) {
      if (options.signal?.aborted || this.#stopped) return undefined
      const connection = await this.#connect(peerId)
      if (!connection) {
        this.#failed(peerId, 'no direct connection could be opened')
        continue
      }
      try {
        const stream = await connection.newStream(BLOB_PROTOCOL, { signal: AbortSignal.timeout(5000) })
        const bytes = await fetchBlob(stream, hash, options)
        this.#stats.bytesReceived += bytes.byteLength
        this.#stats.blobsReceived += 1
        this.#emit()
        return { bytes, from: peerId }
      } catch (error) {
        this.#failed(peerId, error instanceof Error ? error.message : String(error))
        if (error instanceof PeerFetchError && error.misbehaved) await this.#drop(peerId, error.message)
      }
    }
    return undefined
  }

  /** Lets every waiter re-check its condition. */
  #wake(): void {
    for (const waiter of this.#waiters) waiter()
  }

  /** Whether a live, unbanned peer announces that it holds `hash`. */
  hasProvider(hash: string): boolean {
    return this.#announced(hash)
  }

  #failed(peerId: string, reason: string): void {
    this.#stats.failures = [...this.#stats.failures.slice(-4), `${peerId}: ${reason}`]
    this.#emit()
  }

  async #drop(peerId: string, reason: string): Promise<void> {
    // Parallel fetches from the same peer may all fail on its bad bytes: drop it once.
    if (this.#banned.has(peerId)) return
    this.#banned.add(peerId)
    this.#known.delete(peerId)
    this.#stats.dropped = [...this.#stats.dropped, `${peerId} (${reason})`]
    const remote = this.#node.getConnections().find((c) => c.remotePeer.toString() === peerId)?.remotePeer
    if (remote) await this.#node.hangUp(remote).catch(() => undefined)
    this.#emit()
  }

  /** Every few seconds: re-dial the hub if it went away, measure round trips, forget silent peers. */
  async #maintain(): Promise<void> {
    if (this.#stopped) return
    const hubId = this.#options.config.peerId
    if (!this.#node.getConnections().some((c) => c.remotePeer.toString() === hubId)) {
      this.#stats.relay = 'connecting'
      await this.#dialHub()
    }
    const now = Date.now()
    for (const [id, peer] of this.#known) if (now - peer.seenAt > ANNOUNCE_STALE_MS * 2) this.#known.delete(id)
    for (const connection of this.#node.getConnections()) {
      if (connection.limits || connection.status !== 'open') continue
      const id = connection.remotePeer.toString()
      try {
        this.#rtt.set(id, await this.#node.services.ping.ping(connection.remotePeer, { signal: AbortSignal.timeout(2000) }))
      } catch {
        this.#rtt.delete(id)
      }
    }
    this.#emit()
  }

  stats(): PeerStats {
    const hubId = this.#options.config.peerId
    const byPeer = new Map<string, PeerView>()
    for (const c of this.#node.getConnections()) {
      const id = c.remotePeer.toString()
      if (id === hubId || c.status !== 'open') continue
      const kind = c.limits ? 'relayed' : 'direct'
      const prior = byPeer.get(id)
      if (prior?.kind === 'direct') continue
      byPeer.set(id, { peerId: id, kind, rttMs: this.#rtt.get(id), sameJob: [...(this.#known.get(id)?.jobs ?? [])].some((j) => this.#myJobs.has(j)) })
    }
    return { ...this.#stats, peers: [...byPeer.values()] }
  }

  #emit(): void {
    if (!this.#stopped) this.#options.onChange(this.stats())
  }

  /** For tests and diagnostics: the remote peers and whether each connection is direct. */
  connections(): { peerId: string; direct: boolean; multiplexer: string | undefined }[] {
    return this.#node.getConnections().map((c) => ({ peerId: c.remotePeer.toString(), direct: !c.limits, multiplexer: c.multiplexer }))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const t of this.#timers) clearInterval(t)
    clearTimeout(this.#announceTimer)
    await this.#node.stop()
  }
}
