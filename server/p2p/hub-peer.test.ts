/**
 * The hub's peer network with real libp2p nodes on loopback: Node clients built like the browser's node (WebSockets,
 * noise, yamux, identify, circuit relay transport, gossipsub) dial the hub at the address `GET /api/v1/p2p` gives,
 * reserve relay slots, reach each other through the relay and exchange announcements through the hub's gossipsub.
 */
import fs from 'node:fs'
import path from 'node:path'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BLOB_PROTOCOL, encodeAnnouncement, MAX_P2P_MESSAGE_BYTES, PEERS_TOPIC, P2PConfig, type PeerAnnouncement } from '../../protocol/p2p.ts'
import { HubStats } from '../../protocol/schemas.ts'
import { startTestHub, tempDir, TEST_TOKEN, Volunteer, waitFor, type TestHub } from '../test-helpers.ts'
import { createAnnouncementValidator } from './announcement-validator.ts'
import { PEER_KEY_FILE } from './peer-key.ts'

type Client = Libp2p<{ pubsub: GossipSub }>

let t: TestHub
const clients: Client[] = []

beforeAll(async () => {
  t = await startTestHub()
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()))
})

afterAll(async () => {
  await t.close()
})

/** A Node libp2p node set up the way the browser's is, minus WebRTC. */
async function client(): Promise<Client> {
  const node = await createLibp2p({
    addresses: { listen: ['/p2p-circuit'] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }) },
  })
  clients.push(node)
  node.services.pubsub.subscribe(PEERS_TOPIC)
  return node
}

async function p2pConfig(url = t.url): Promise<P2PConfig> {
  const response = await fetch(`${url}/api/v1/p2p`)
  expect(response.status).toBe(200)
  return P2PConfig.parse(await response.json())
}

const announcement = (jobs: string[] = ['job-1']): PeerAnnouncement => ({ v: 1, jobs, blobs: ['a'.repeat(64)], fetching: [], addrs: [] })

describe('GET /api/v1/p2p', () => {
  it('names the hub by the host the request used, on the peer listener port, and a Node client dials it', async () => {
    const config = await p2pConfig()
    const hubPeer = t.hub.p2p!
    expect(config).toEqual({
      enabled: true,
      peerId: hubPeer.peerId,
      multiaddrs: [`/ip4/127.0.0.1/tcp/${hubPeer.port}/ws/p2p/${hubPeer.peerId}`],
      topic: PEERS_TOPIC,
      protocol: BLOB_PROTOCOL,
      iceServers: [],
    })
    expect(hubPeer.port).not.toBe(new URL(t.url).port)

    const node = await client()
    const connection = await node.dial(multiaddr(config.multiaddrs[0]))
    expect(connection.remotePeer.toString()).toBe(config.peerId)
    expect(connection.limits).toBeUndefined()
    await waitFor(async () => t.hub.p2p!.stats().connections >= 1, 'the hub to see the connection')
  })

  it('derives /dns/ for a host name, /ip6/ for an IPv6 literal and loopback for localhost from the Host header', async () => {
    const { peerId, port } = t.hub.p2p!
    const ask = async (host: string) =>
      P2PConfig.parse(await (await t.hub.app.request('/api/v1/p2p', { headers: { host } })).json()).multiaddrs
    expect(await ask('hub.example.org:8080')).toEqual([`/dns/hub.example.org/tcp/${port}/ws/p2p/${peerId}`])
    expect(await ask('[::1]:8080')).toEqual([`/ip6/::1/tcp/${port}/ws/p2p/${peerId}`])
    expect(await ask('10.1.2.3')).toEqual([`/ip4/10.1.2.3/tcp/${port}/ws/p2p/${peerId}`])
    // localhost is this machine: the loopback address the listener is bound to, not a name that may resolve to ::1.
    expect(await ask('localhost:8080')).toEqual([`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerId}`])
  })

  it('publishes configured announce addresses and ICE servers as given, and reports a disabled network', async () => {
    const announced = await startTestHub({
      p2p: { port: 0, announce: ['/dns4/hub.example.org/tcp/443/wss'], iceServers: [{ urls: 'stun:stun.example.org:3478' }] },
    })
    const off = await startTestHub({ p2p: false })
    try {
      const config = await p2pConfig(announced.url)
      expect(config.multiaddrs).toEqual([`/dns4/hub.example.org/tcp/443/wss/p2p/${config.peerId}`])
      expect(config.iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }])
      expect(await p2pConfig(off.url)).toMatchObject({ enabled: false, multiaddrs: [] })
      expect(off.hub.p2p).toBeUndefined()
    } finally {
      await Promise.all([announced.close(), off.close()])
    }
  })
})

describe('circuit relay', () => {
  it('gives a client a reservation, and another client reaches it through the hub on a limited connection', async () => {
    const [hubAddr] = (await p2pConfig()).multiaddrs
    const listener = await client()
    const dialer = await client()
    await listener.dial(multiaddr(hubAddr))
    const circuit = await waitFor(
      async () => listener.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit')),
      'a relay reservation on the hub',
    )
    expect(circuit.toString()).toBe(`${hubAddr}/p2p-circuit/p2p/${listener.peerId}`)
    await waitFor(async () => t.hub.p2p!.stats().relayReservations >= 1, 'the hub to count the reservation')

    await dialer.dial(multiaddr(hubAddr))
    const relayed = await dialer.dial(circuit)
    expect(relayed.remotePeer.equals(listener.peerId)).toBe(true)
    // Relayed connections are for signalling: bounded in bytes (1 MiB by default), never for bulk data.
    expect(relayed.limits?.bytes).toBeDefined()
    expect(relayed.limits!.bytes! <= 1024n * 1024n).toBe(true)
  })
})

describe('announcements through the hub', () => {
  it('forwards a valid announcement from one client to another, and rejects invalid ones so nobody receives them', async () => {
    const [hubAddr] = (await p2pConfig()).multiaddrs
    const publisher = await client()
    const subscriber = await client()
    await publisher.dial(multiaddr(hubAddr))
    await subscriber.dial(multiaddr(hubAddr))
    const received: string[] = []
    subscriber.services.pubsub.addEventListener('message', (event) => {
      if (event.detail.topic === PEERS_TOPIC) received.push(new TextDecoder().decode(event.detail.data))
    })
    await waitFor(async () => t.hub.p2p!.stats().topicPeers >= 2, 'both clients to subscribe at the hub')
    const publish = (data: Uint8Array) => publisher.services.pubsub.publish(PEERS_TOPIC, data)
    const deliver = async (jobs: string[]) => {
      const text = JSON.stringify(announcement(jobs))
      // The hub's mesh takes up to one heartbeat (1 s) to include a new subscriber: publish until one arrives.
      await waitFor(
        async () => {
          if (received.includes(text)) return true
          await publish(new TextEncoder().encode(text))
          await new Promise((r) => setTimeout(r, 300))
          return received.includes(text)
        },
        `the announcement for ${jobs} to arrive`,
        10_000,
      )
      return text
    }
    const first = await deliver(['job-1'])
    const rejectedBefore = t.hub.p2p!.stats().announcements.rejected

    // Now that the hub forwards to the subscriber: not an announcement, extra fields, over the size limit, not JSON.
    const invalid = [
      new TextEncoder().encode(JSON.stringify({ hello: 'world' })),
      new TextEncoder().encode(JSON.stringify({ ...announcement(), wallet: '0xabc' })),
      encodeAnnouncement({ ...announcement(), addrs: ['x'.repeat(MAX_P2P_MESSAGE_BYTES)] }),
      new Uint8Array([0xff, 0xfe, 0x00]),
    ]
    for (const data of invalid) await publish(data)
    // Messages from one publisher travel the same path in order: once the next valid one arrived, the invalid ones
    // would have too.
    const second = await deliver(['job-2'])
    expect(new Set(received)).toEqual(new Set([first, second]))
    expect(t.hub.p2p!.stats().announcements.rejected - rejectedBefore).toBe(invalid.length)
  })
})

describe('many volunteers behind one address', () => {
  it('keeps forwarding to all of them (a classroom behind one NAT, or every e2e browser on 127.0.0.1)', async () => {
    // gossipsub's default score punishes more than 10 peers on one IP until it ignores them all; the hub turns that off.
    const hub = await startTestHub()
    try {
      const [hubAddr] = (await p2pConfig(hub.url)).multiaddrs
      const own = await Promise.all(
        Array.from({ length: 14 }, async () => {
          const node = await client()
          await node.dial(multiaddr(hubAddr))
          return node
        }),
      )
      await waitFor(async () => hub.hub.p2p!.stats().topicPeers === 14, 'all fourteen to subscribe at the hub')
      const first = own[0]
      const last = own[13]
      const received: string[] = []
      first.services.pubsub.addEventListener('message', (event) => received.push(new TextDecoder().decode(event.detail.data)))
      const text = JSON.stringify(announcement(['job-14']))
      await waitFor(
        async () => {
          if (received.includes(text)) return true
          await last.services.pubsub.publish(PEERS_TOPIC, new TextEncoder().encode(text))
          await new Promise((r) => setTimeout(r, 300))
          return received.includes(text)
        },
        "the fourteenth peer's announcement to reach the first",
        10_000,
      )
    } finally {
      await hub.close()
    }
  })
})

describe('the announcement validator', () => {
  const message = (from: ReturnType<typeof peerIdFromPrivateKey>, data: Uint8Array) =>
    ({ type: 'signed', from, topic: PEERS_TOPIC, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: from.publicKey! }) as const

  it('rejects publishers whose peer id is not an Ed25519 device key, and ignores a publisher past its rate', async () => {
    let now = 0
    const counters = { accepted: 0, rejected: 0, ignored: 0 }
    const validate = createAnnouncementValidator(counters, { burst: 2, perSecond: 1, now: () => now })
    const device = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const other = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
    const data = encodeAnnouncement(announcement())
    expect(validate(device, message(other, data))).toBe(TopicValidatorResult.Reject)
    expect(validate(device, { type: 'unsigned', topic: PEERS_TOPIC, data })).toBe(TopicValidatorResult.Reject)
    expect(validate(device, message(device, encodeAnnouncement({ ...announcement(), addrs: ['not a multiaddr'] })))).toBe(
      TopicValidatorResult.Reject,
    )
    expect(validate(device, message(device, data))).toBe(TopicValidatorResult.Accept)
    expect(validate(device, message(device, data))).toBe(TopicValidatorResult.Accept)
    expect(validate(device, message(device, data))).toBe(TopicValidatorResult.Ignore)
    now += 1000
    expect(validate(device, message(device, data))).toBe(TopicValidatorResult.Accept)
    expect(counters).toEqual({ accepted: 3, rejected: 3, ignored: 1 })
  })
})

describe('the hub identity', () => {
  it('keeps its peer id across a restart with the same data folder, in a key file only its user reads', async () => {
    const { dir, remove } = tempDir()
    try {
      const first = await startTestHub({ dataDir: dir })
      const { peerId } = first.hub.p2p!
      await first.close()
      expect(fs.statSync(path.join(dir, PEER_KEY_FILE)).mode & 0o777).toBe(0o600)
      const second = await startTestHub({ dataDir: dir })
      try {
        expect(second.hub.p2p!.peerId).toBe(peerId)
        expect((await p2pConfig(second.url)).peerId).toBe(peerId)
      } finally {
        await second.close()
      }
      const elsewhere = await startTestHub()
      expect(elsewhere.hub.p2p!.peerId).not.toBe(peerId)
      await elsewhere.close()
    } finally {
      remove()
    }
  })

  it('stops its libp2p node when the hub closes', async () => {
    const own = await startTestHub()
    const [addr] = (await p2pConfig(own.url)).multiaddrs
    await own.close()
    const node = await client()
    await expect(node.dial(multiaddr(addr), { signal: AbortSignal.timeout(3000) })).rejects.toThrow()
  })
})

describe('GET /api/v1/stats', () => {
  it('needs the owner token and reports blobs served per hash and the peer network', async () => {
    expect((await fetch(`${t.url}/api/v1/stats`)).status).toBe(401)
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 3 })
    const volunteer = await Volunteer.create(t.url)
    const [unit] = await volunteer.lease(1)
    const before = HubStats.parse(await (await t.owner('/stats')).json())
    const hash = unit.inputs[0]
    const bytes = (await (await fetch(`${t.url}/api/v1/blobs/${hash}`)).arrayBuffer()).byteLength
    await fetch(`${t.url}/api/v1/blobs/${hash}`).then((r) => r.arrayBuffer())

    const response = await fetch(`${t.url}/api/v1/stats`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    expect(response.status).toBe(200)
    const stats = HubStats.parse(await response.json())
    expect(stats.blobs.served - before.blobs.served).toBe(2)
    expect(stats.blobs.bytesServed - before.blobs.bytesServed).toBe(2 * bytes)
    expect(stats.blobs.byHash[hash]).toEqual({
      served: (before.blobs.byHash[hash]?.served ?? 0) + 2,
      bytes: (before.blobs.byHash[hash]?.bytes ?? 0) + 2 * bytes,
    })
    expect(stats.p2p).toMatchObject({ enabled: true, peerId: t.hub.p2p!.peerId })
  })
})
