/**
 * The app's view of the peer network, and the input path that uses it: a unit's input comes from this device's blob
 * store, else from a peer that announced it (verified by hash, then a signed bandwidth receipt credits that peer),
 * else from the hub. libp2p itself loads only when contributing starts (`start`), as a separate chunk.
 */
import { MeshworkError, type DeviceKey } from '../../../protocol/index.ts'
import { signReceipt, type P2PConfig } from '../../../protocol/p2p.ts'
import type { HubClient } from '../hub/client.ts'
import { BlobStore } from '../storage/blob-store.ts'
import { openMeshworkDB } from '../storage/db.ts'
import type { PeerNode, PeerStats } from './node.ts'

/**
 * The longest a node that is joining waits for peers before it takes an input from the hub (it stops waiting once its
 * first announcement has been answered; see PeerNode.waitToJoin).
 */
const JOIN_WAIT_MS = 10_000
/** How long to wait for a peer's download of an input from the hub before fetching it too. */
const DOWNLOAD_WAIT_MS = 15_000
/** Further tries, PEER_RETRY_MS x the try number apart, while a peer still announces the input. */
const PEER_RETRIES = 2
const PEER_RETRY_MS = 1000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export type PeerState = 'off' | 'starting' | 'on' | 'unavailable'

export interface InputSource {
  /** The input as a Blob handle: a compute worker reads it, the page never copies its bytes. */
  data: Blob
  source: 'device' | 'peer' | 'hub'
}

export class PeerNetwork {
  #state = $state<PeerState>('off')
  #reason = $state('')
  #stats = $state<PeerStats | undefined>(undefined)
  /** Bytes of inputs fetched from the hub over HTTP by this page. */
  #hubBytes = $state(0)
  #peerId = $state('')
  #cache = $state({ count: 0, bytes: 0, capBytes: 0 })

  readonly blobs: BlobStore
  #node: PeerNode | undefined
  #client: HubClient | undefined
  #key: DeviceKey | undefined
  #jobs = new Set<string>()
  #flushing = false
  #starting: Promise<void> | undefined
  #flushTimer: ReturnType<typeof setInterval> | undefined

  constructor(cacheCapBytes: number) {
    this.blobs = new BlobStore(cacheCapBytes)
    void this.#refreshCache()
  }

  get state() { return this.#state }
  /** Why peers are unavailable (no relay, libp2p failed to load). */
  get reason() { return this.#reason }
  get stats() { return this.#stats }
  get peerId() { return this.#peerId }
  get hubBytes() { return this.#hubBytes }
  /** Bytes the hub did not have to send because peers did. */
  get hubSpared() { return this.#stats?.bytesReceived ?? 0 }
  get cache() { return this.#cache }

  /** Joins the peer network (the person pressed Contribute). Failure leaves the hub path working. */
  start(client: HubClient, key: DeviceKey): Promise<void> {
    this.#client = client
    this.#key = key
    this.#flushTimer ??= setInterval(() => void this.flushReceipts(), 30_000)
    void this.flushReceipts()
    if (this.#state === 'starting' || this.#state === 'on') return this.#starting ?? Promise.resolve()
    this.#starting = this.#start(client, key).finally(() => (this.#starting = undefined))
    return this.#starting
  }

  async #start(client: HubClient, key: DeviceKey): Promise<void> {
    this.#state = 'starting'
    this.#reason = ''
    let config: P2PConfig
    try {
      config = await client.p2p()
      if (!config.enabled || !config.multiaddrs.length) throw new Error('the hub runs no peer network')
      const { PeerNode } = await import('./node.ts')
      this.#node = await PeerNode.start({
        config,
        key,
        readBlob: (hash) => this.blobs.get(hash, { verify: false }),
        announcement: async () => ({ jobs: [...this.#jobs], blobs: await this.blobs.hashes() }),
        onChange: (stats) => (this.#stats = stats),
      })
      this.#node.setJobs(this.#jobs)
      this.#peerId = this.#node.peerId
      this.#stats = this.#node.stats()
      this.#state = 'on'
    } catch (error) {
      this.#state = 'unavailable'
      this.#reason = error instanceof Error ? error.message : String(error)
    }
  }

  async stop(): Promise<void> {
    const node = this.#node
    this.#node = undefined
    if (this.#state !== 'unavailable') this.#state = 'off'
    await node?.stop().catch(() => undefined)
  }

  /** The jobs this device holds leases for (announced, and used to pick peers). */
  setJobs(jobs: Iterable<string>): void {
    this.#jobs = new Set(jobs)
    this.#node?.setJobs(this.#jobs)
  }

  /** One input of a leased unit, verified by hash, from the cheapest place that has it. */
  async input(hash: string, unitId: string, fromHub: (hash: string) => Promise<Blob>): Promise<InputSource> {
    const local = await this.blobs.getBlob(hash).catch(() => undefined)
    if (local) return { data: local, source: 'device' }
    // Joining takes a moment (relay reservation, first announcements): worth waiting for when inputs are megabytes.
    const started = Date.now()
    if (this.#starting) await Promise.race([this.#starting, sleep(JOIN_WAIT_MS)])
    const node = this.#node
    if (node && !node.joined) await node.waitToJoin(hash, JOIN_WAIT_MS - (Date.now() - started))
    const fromPeer = async () => {
      const peer = await node?.fetch(hash).catch(() => undefined)
      if (!peer) return undefined
      const data = new Blob([peer.bytes as Uint8Array<ArrayBuffer>])
      await this.#keep(hash, data)
      void this.#receipt(peer.from, hash, peer.bytes.byteLength, unitId)
      return { data, source: 'peer' } as const
    }
    // A peer that holds it but could not deliver just now (a dial that timed out, a busy sender, a data channel that
    // closed mid-transfer) is asked again while it still announces it: the hub's bandwidth is what sharing saves.
    const fromPeers = async () => {
      let got = await fromPeer()
      for (let retry = 1; !got && retry <= PEER_RETRIES && node?.hasProvider(hash); retry++) {
        await sleep(PEER_RETRY_MS * retry)
        got = await fromPeer()
      }
      return got
    }
    const first = await fromPeers()
    if (first) return first
    // Nobody holds it. If a peer is already downloading it from the hub, wait for that copy; otherwise claim the
    // download so that peers needing it now wait for ours (the smaller peer id wins a tie).
    // A claimant that stalls or fails twice is not waited for a third time.
    for (let round = 0; node && round < 2 && !(await node.claimDownload(hash)); round++) {
      if (await node.waitForDownload(hash, DOWNLOAD_WAIT_MS)) {
        const shared = await fromPeers()
        if (shared) return shared
      }
    }
    let data: Blob
    try {
      data = await fromHub(hash)
      this.#hubBytes += data.size
      await this.#keep(hash, data)
    } finally {
      node?.releaseDownload(hash)
    }
    return { data, source: 'hub' }
  }

  async setCacheCap(bytes: number): Promise<void> {
    await this.blobs.setCap(bytes)
    await this.#refreshCache()
  }

  async #keep(hash: string, data: Blob): Promise<void> {
    await this.blobs.put(hash, data).catch(() => undefined)
    await this.#refreshCache()
    this.#node?.announceSoon()
  }

  async #refreshCache(): Promise<void> {
    this.#cache = await this.blobs.usage().catch(() => this.#cache)
  }

  /** Signs a receipt for the serving peer, keeps it in IndexedDB until the hub answers, and uploads it. */
  async #receipt(fromPeer: string, blob: string, bytes: number, unitId: string): Promise<void> {
    const key = this.#key
    if (!key) return
    const { deviceOfPeerId } = await import('../../../protocol/peer-id.ts')
    const server = deviceOfPeerId(fromPeer)
    if (!server) return
    const receipt = await signReceipt(
      { v: 1, receiptId: crypto.randomUUID(), receiver: key.deviceId, server, blob, bytes, unitId, at: Date.now() },
      key.privateKey,
    )
    const db = await openMeshworkDB()
    await db.put('receipts', { receiptId: receipt.body.receiptId, receipt, createdAt: Date.now() })
    await this.flushReceipts()
  }

  /** Uploads pending receipts; each one the hub answered (credited, duplicate or refused) is removed. */
  async flushReceipts(): Promise<void> {
    if (this.#flushing || !this.#client) return
    this.#flushing = true
    try {
      const db = await openMeshworkDB()
      for (;;) {
        const pending = await db.getAll('receipts', undefined, 64)
        if (!pending.length) return
        let answered: string[]
        try {
          answered = (await this.#client.receipts(pending.map((p) => p.receipt))).results.map((r) => r.receiptId)
        } catch (error) {
          // A malformed batch will never be accepted: drop it rather than retry forever.
          if (error instanceof MeshworkError && !error.transient) answered = pending.map((p) => p.receiptId)
          else return
        }
        const tx = db.transaction('receipts', 'readwrite')
        await Promise.all([...answered.map((id) => tx.store.delete(id)), tx.done])
      }
    } finally {
      this.#flushing = false
    }
  }

  /** For tests and diagnostics. */
  connections() {
    return this.#node?.connections() ?? []
  }
}
