/**
 * The hub's libp2p node: a WebSockets listener that browsers dial, a circuit relay v2 server through which browsers
 * reach each other to set up WebRTC (bounded in reservations, time and bytes: the relay signals, it does not carry
 * bulk data), identify, ping, and gossipsub on PEERS_TOPIC, where the hub validates and forwards announcements.
 */
import '../polyfills.ts'
import { isIPv4, isIPv6 } from 'node:net'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { PEERS_TOPIC } from '../../protocol/p2p.ts'
import { createAnnouncementValidator, type AnnouncementCounters } from './announcement-validator.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'

export interface HubPeerOptions {
  /** Folder holding the hub's key (see peer-key.ts). */
  dataDir: string
  /** TCP port of the WebSockets listener; 0 picks a free one. @default 0 */
  port?: number
  /** Address to listen on (an IP; `localhost` means 127.0.0.1). @default '127.0.0.1' */
  host?: string
  /**
   * Multiaddrs to publish instead of the listen addresses (e.g. `/dns4/hub.example.org/tcp/443/wss` behind a TLS
   * proxy); `/p2p/<peerId>` is appended when missing. @default [] (publish what the listener bound)
   */
  announce?: string[]
  /** Connections kept before libp2p prunes the least useful. @default 2048 */
  maxConnections?: number
  /** Relay reservations held at once. @default 1024 */
  maxReservations?: number
  /** How long a relay reservation lasts before the browser must refresh it. @default 3600000 (1 h) */
  reservationTtlMs?: number
  /** Bytes one relayed connection may carry (both ways) before the relay resets it. @default 1048576 (1 MiB) */
  relayDataLimitBytes?: number
  /** How long one relayed connection may stay open. @default 120000 (2 min) */
  relayDurationLimitMs?: number
  /** Where rejected announcements are logged. @default nothing */
  log?: (line: string) => void
  /** Certificate and key: the listener speaks WebSockets over TLS (`/tls/ws`), as pages served over HTTPS need. */
  tls?: TlsOptions
}

/** A PEM certificate chain and its private key. */
export interface TlsOptions {
  cert: string | Buffer
  key: string | Buffer
}

export interface HubPeerStats {
  /** Open libp2p connections. */
  connections: number
  /** Distinct connected peers. */
  peers: number
  /** Relay reservations held now. */
  relayReservations: number
  /** Peers subscribed to PEERS_TOPIC that the hub knows of. */
  topicPeers: number
  announcements: AnnouncementCounters
}

export interface HubPeer {
  /** The hub's peer id (base58, `12D3KooW…`). */
  readonly peerId: string
  /** The TCP port the WebSockets listener bound. */
  readonly port: number
  /** The configured announce addresses, each ending in `/p2p/<peerId>`; empty when none were configured. */
  readonly announce: string[]
  /** The libp2p node, for tests and diagnostics. */
  readonly node: Libp2p<{ pubsub: GossipSub; relay: CircuitRelayService }>
  /** What the node listens on (or announces), each ending in `/p2p/<peerId>`. */
  multiaddrs(): string[]
  stats(): HubPeerStats
  /** Stops the node (closing every connection). Safe to call twice. */
  stop(): Promise<void>
}

/** The multiaddr prefix for an IP, or undefined for a name. */
export function ipProtocol(host: string): '/ip4' | '/ip6' | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  if (isIPv4(bare)) return '/ip4'
  if (isIPv6(bare)) return '/ip6'
  return undefined
}

function listenAddress(host: string, port: number, tls: boolean): string {
  const ip = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[(.*)\]$/, '$1')
  const proto = ipProtocol(ip)
  if (!proto) throw new Error(`The peer network listens on an IP address; "${host}" is not one (use e.g. 0.0.0.0 or 127.0.0.1).`)
  return `${proto}/${ip}/tcp/${port}/${tls ? 'tls/ws' : 'ws'}`
}

/** `addr` without a trailing `/p2p/<peerId>`; throws when it names another peer. */
function withoutOwnPeerId(addr: Multiaddr, peerId: string): Multiaddr {
  const last = addr.getComponents().at(-1)
  if (last?.name !== 'p2p') return addr
  if (last.value !== peerId) throw new Error(`The announce address ${addr.toString()} names peer ${last.value}, but this hub is ${peerId}.`)
  return multiaddr(addr.getComponents().slice(0, -1))
}

/** Creates and starts the hub's libp2p node. */
export async function startHubPeer(options: HubPeerOptions): Promise<HubPeer> {
  const {
    dataDir,
    port = 0,
    host = '127.0.0.1',
    maxConnections = 2048,
    maxReservations = 1024,
    reservationTtlMs = 3_600_000,
    relayDataLimitBytes = 1024 * 1024,
    relayDurationLimitMs = 120_000,
    log,
  } = options
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const announce = (options.announce ?? []).map((a) => withoutOwnPeerId(multiaddr(a), peerId))
  const counters: AnnouncementCounters = { accepted: 0, rejected: 0, ignored: 0 }

  const node = await createLibp2p({
    privateKey,
    addresses: { listen: [listenAddress(host, port, !!options.tls)], announce: announce.map((a) => a.toString()) },
    transports: [webSockets(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {})],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections,
      // The defaults (5 new connections per second per host, 10 upgrading at once) suit a browser, not a hub that
      // many volunteers behind one NAT (a classroom, the e2e tests on 127.0.0.1) dial at the same moment.
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 256,
    },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations,
          reservationTtl: reservationTtlMs,
          defaultDataLimit: BigInt(relayDataLimitBytes),
          defaultDurationLimit: relayDurationLimitMs,
        },
      }),
      pubsub: gossipsub({
        // The hub is the only peer every browser reaches at first, so it must forward even when it is alone with
        // one browser, and it never needs its own messages back.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Signed messages tie each announcement to its publisher's peer id, which is derived from a device key.
        globalSignaturePolicy: 'StrictSign',
        allowedTopics: [PEERS_TOPIC],
        // Larger mesh than gossipsub's default 6: browsers start connected to the hub alone, so the hub's mesh is how
        // an announcement reaches them within one hop instead of waiting for lazy gossip.
        D: 12,
        Dlo: 8,
        Dhi: 24,
        Dlazy: 12,
        maxInboundDataLength: 64 * 1024,
        // gossipsub scores down every peer once more than 10 share an IP, until it ignores them all: right for an
        // open mesh facing Sybils, wrong for a hub whose volunteers sit behind one NAT (a classroom, a carrier-grade
        // NAT, every e2e browser on 127.0.0.1). Announcements are validated above instead.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
  })

  node.services.pubsub.topicValidators.set(
    PEERS_TOPIC,
    createAnnouncementValidator(counters, { onReject: log && ((from, reason) => log(`p2p: rejected an announcement from ${from}: ${reason}`)) }),
  )
  node.services.pubsub.subscribe(PEERS_TOPIC)

  // The bound port comes from the transport's listeners: getMultiaddrs() shows the announce addresses when some are
  // configured. `components` is on libp2p's node class but not on its public interface.
  const internals = node as unknown as { components: { transportManager: { getAddrs(): Multiaddr[] } } }
  const boundPort = internals.components.transportManager
    .getAddrs()
    .map((a) => Number(a.getComponents().find((c) => c.name === 'tcp')?.value))
    .find((p) => Number.isInteger(p) && p > 0)
  if (boundPort === undefined) {
    await node.stop()
    throw new Error(`The peer network's WebSockets listener did not report its port (listening on ${listenAddress(host, port, !!options.tls)}).`)
  }

  let stopping: Promise<void> | undefined
  return {
    peerId,
    port: boundPort,
    announce: announce.map((a) => `${a.toString()}/p2p/${peerId}`),
    node,
    multiaddrs: () => node.getMultiaddrs().map((a) => a.toString()),
    stats: () => ({
      connections: node.getConnections().length,
      peers: node.getPeers().length,
      relayReservations: node.services.relay.reservations.size,
      topicPeers: node.services.pubsub.getSubscribers(PEERS_TOPIC).length,
      announcements: { ...counters },
    }),
    stop: () => (stopping ??= Promise.resolve(node.stop())),
  }
}
