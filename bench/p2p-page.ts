/**
 * Peer network benchmark page, driven by bench/p2p.ts in headless Chromium (two pages, one per peer). It runs the
 * product's own PeerNode (relay reservation on the hub, gossipsub announcements, direct WebRTC) and, beside it, a bare
 * RTCPeerConnection pair as the baseline for bulk transfer. Everything is exposed on `globalThis.p2pBench`.
 */
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { P2PConfig } from '../protocol/p2p.ts'
import { generateDeviceKey } from '../protocol/sign-request.ts'
import { PeerNode } from '../src/lib/p2p/node.ts'

/** Protocol of the bulk-transfer stream; only this page registers it. */
export const BENCH_PROTOCOL = '/meshwork/bench/1.0.0'
const ACK = new Uint8Array([1])

let node: PeerNode | undefined
/** Bytes the receiving side waits for before it acknowledges (set per run by the driver). */
let expected = 0

function isDirect(c: { limits?: unknown; multiplexer?: string; status: string }): boolean {
  return !c.limits && c.multiplexer === '/webrtc' && c.status === 'open'
}

async function startPeer(config: P2PConfig, jobs: string[]): Promise<PeerNode> {
  const peer = await PeerNode.start({
    config,
    key: await generateDeviceKey(),
    readBlob: async () => undefined,
    announcement: async () => ({ jobs, blobs: [] }),
    onChange: () => undefined,
  })
  peer.setJobs(jobs)
  return peer
}

/** Counts bytes on an inbound stream or channel and answers one ACK byte once `expected` bytes arrived. */
function counter(reply: () => void): (bytes: number) => void {
  const target = expected
  let received = 0
  return (bytes) => {
    received += bytes
    if (received >= target && received - bytes < target) reply()
  }
}

/** Starts this page's PeerNode (announcing `jobs`) with the bench protocol registered; returns its peer id. */
async function start(config: P2PConfig, jobs: string[]): Promise<string> {
  await node?.stop()
  node = await startPeer(config, jobs)
  await node.libp2p.handle(
    BENCH_PROTOCOL,
    (stream: Stream) => {
      const count = counter(() => stream.send(ACK))
      stream.addEventListener('message', (event) => count(event.data.byteLength))
    },
    // Like the blob protocol: bulk bytes only on direct connections, never through the hub's relay.
    { runOnLimitedConnection: false },
  )
  return node.peerId
}

/** The WebRTC circuit address this page's node can be dialled on, once its relay reservation is in place. */
async function circuitAddress(timeoutMs = 15_000): Promise<{ addr: string; all: string[] }> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const all = node!.libp2p.getMultiaddrs().map((ma) => ma.toString())
    const addr = all.find((a) => a.includes('/p2p-circuit/webrtc/'))
    if (addr) return { addr, all }
    if (performance.now() > deadline) throw new Error(`no /p2p-circuit/webrtc address within ${timeoutMs} ms; addresses: ${all.join(' ')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function setExpected(bytes: number): void {
  expected = bytes
}

/**
 * Dials `addr` (a WebRTC circuit address); the connection must come out direct. Retried like the product does: about
 * one fresh WebRTC dial in ten fails while its first data channel opens (see ENVIRONMENT.md).
 */
async function dial(addr: string): Promise<{ multiplexer: string | undefined; limited: boolean; attempts: number; errors: string[] }> {
  const errors: string[] = []
  for (let attempt = 1; ; attempt++) {
    try {
      const connection = await node!.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(15_000) })
      return { multiplexer: connection.multiplexer, limited: Boolean(connection.limits), attempts: attempt, errors }
    } catch (error) {
      errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
      if (attempt === 3) throw new Error(`dial of ${addr} failed 3 times: ${errors.join('; ')}`)
    }
  }
}

function chunkOf(bytes: number): Uint8Array {
  // getRandomValues fills at most 64 KiB per call; incompressible bytes either way.
  const chunk = new Uint8Array(bytes)
  for (let o = 0; o < bytes; o += 65536) crypto.getRandomValues(chunk.subarray(o, Math.min(bytes, o + 65536)))
  return chunk
}

/**
 * Writes `total` bytes in `chunkBytes` writes on a fresh BENCH_PROTOCOL stream to `peerId` (over the direct
 * connection), honouring backpressure, and waits for the receiver's ACK. Returns milliseconds from the first write
 * to the ACK.
 */
async function sendLibp2p(peerId: string, total: number, chunkBytes: number): Promise<number> {
  const connection = node!.libp2p.getConnections().find((c) => c.remotePeer.toString() === peerId && isDirect(c))
  if (!connection) throw new Error(`no direct connection to ${peerId}`)
  const stream = await connection.newStream(BENCH_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const ack = new Promise<void>((resolve, reject) => {
    stream.addEventListener('message', () => resolve(), { once: true })
    stream.addEventListener('close', (event) => reject(event.error ?? new Error('stream closed before the ACK')), { once: true })
  })
  const chunk = chunkOf(chunkBytes)
  const t0 = performance.now()
  for (let sent = 0; sent < total; sent += chunkBytes) {
    // false: the chunk was queued but the channel is full; wait for it to drain before the next one.
    if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
  }
  await ack
  const ms = performance.now() - t0
  await stream.close().catch(() => undefined)
  return ms
}

/**
 * Time from PeerNode.start() to the first direct WebRTC connection to `target`, found the way the product finds
 * peers: both announce the same job on the peers topic, and whichever hears the other first dials it. The node is
 * stopped afterwards. All times in ms from the start() call.
 */
async function joinTime(config: P2PConfig, target: string, jobs: string[]): Promise<{ directMs: number; startedMs: number; reservedMs: number; heardMs: number; direction: string }> {
  const t0 = Date.now()
  const peer = await startPeer(config, jobs)
  const startedMs = Date.now() - t0
  let reservedMs = NaN
  let heardMs = NaN
  peer.libp2p.services.pubsub.addEventListener('gossipsub:message', ({ detail }) => {
    if (Number.isNaN(heardMs) && detail.msg.type === 'signed' && detail.msg.from.toString() === target) heardMs = Date.now() - t0
  })
  try {
    const deadline = t0 + 30_000
    for (;;) {
      if (Number.isNaN(reservedMs) && peer.libp2p.getMultiaddrs().some((ma) => ma.toString().includes('/p2p-circuit'))) reservedMs = Date.now() - t0
      const direct = peer.libp2p.getConnections().find((c) => c.remotePeer.toString() === target && isDirect(c))
      if (direct) return { directMs: direct.timeline.open - t0, startedMs, reservedMs, heardMs, direction: direct.direction }
      if (Date.now() > deadline) throw new Error(`no direct connection to ${target} within 30 s: ${JSON.stringify(peer.connections())}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  } finally {
    await peer.stop()
  }
}

// The raw baseline: one RTCPeerConnection per page, no libp2p, SDP carried by the driver.
let pc: RTCPeerConnection | undefined
let rawRuns = 0

async function gathered(connection: RTCPeerConnection): Promise<RTCSessionDescriptionInit> {
  if (connection.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const check = () => connection.iceGatheringState === 'complete' && resolve()
      connection.addEventListener('icegatheringstatechange', check)
      check()
    })
  }
  return connection.localDescription!.toJSON()
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true })
    channel.addEventListener('error', () => reject(new Error(`data channel ${channel.label} failed`)), { once: true })
  })
}

/** Sender side, step 1: the offer (with a control channel so the SCTP association comes up at once). */
async function rawOffer(): Promise<RTCSessionDescriptionInit> {
  pc?.close()
  pc = new RTCPeerConnection({ iceServers: [] })
  pc.createDataChannel('control')
  await pc.setLocalDescription(await pc.createOffer())
  return gathered(pc)
}

/** Receiver side: answers, and counts bytes on every channel the sender opens. */
async function rawAnswer(offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
  pc?.close()
  pc = new RTCPeerConnection({ iceServers: [] })
  pc.addEventListener('datachannel', ({ channel }) => {
    if (channel.label === 'control') return
    channel.binaryType = 'arraybuffer'
    const count = counter(() => channel.send(ACK))
    channel.addEventListener('message', (event) => count((event.data as ArrayBuffer).byteLength))
  })
  await pc.setRemoteDescription(offer)
  await pc.setLocalDescription(await pc.createAnswer())
  return gathered(pc)
}

/** Sender side, step 2. */
async function rawAccept(answer: RTCSessionDescriptionInit): Promise<void> {
  await pc!.setRemoteDescription(answer)
  const deadline = performance.now() + 15_000
  while (pc!.connectionState !== 'connected') {
    if (performance.now() > deadline || pc!.connectionState === 'failed') throw new Error(`raw RTCPeerConnection is ${pc!.connectionState}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Writes `total` bytes in `chunkBytes` messages on a fresh ordered, reliable channel, pausing while more than
 * `highWater` bytes are buffered until bufferedamountlow (at `lowWater`); waits for the receiver's ACK. Returns ms
 * from the first write to the ACK.
 */
async function sendRaw(total: number, chunkBytes: number, highWater: number, lowWater: number): Promise<number> {
  const channel = pc!.createDataChannel(`bench-${rawRuns++}`, { ordered: true })
  channel.binaryType = 'arraybuffer'
  await opened(channel)
  channel.bufferedAmountLowThreshold = lowWater
  const ack = new Promise<void>((resolve) => channel.addEventListener('message', () => resolve(), { once: true }))
  const chunk = chunkOf(chunkBytes)
  const t0 = performance.now()
  for (let sent = 0; sent < total; sent += chunkBytes) {
    if (channel.bufferedAmount > highWater) await new Promise((r) => channel.addEventListener('bufferedamountlow', r, { once: true }))
    channel.send(chunk as Uint8Array<ArrayBuffer>)
  }
  await ack
  const ms = performance.now() - t0
  channel.close()
  return ms
}

const api = { start, circuitAddress, setExpected, dial, sendLibp2p, joinTime, rawOffer, rawAnswer, rawAccept, sendRaw }
export type P2PBenchApi = typeof api
;(globalThis as unknown as { p2pBench: P2PBenchApi }).p2pBench = api
