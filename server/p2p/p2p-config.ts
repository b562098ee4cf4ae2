/**
 * What `GET /api/v1/p2p` tells the app: the hub's peer id and the WebSocket multiaddrs to dial it on. Without
 * configured announce addresses, the host is the one the browser already reached the hub by (its Host header), with
 * the peer listener's port, so a hub on a LAN, on loopback or behind a plain port forward works without settings.
 */
import { BLOB_PROTOCOL, PEERS_TOPIC, type P2PConfig } from '../../protocol/p2p.ts'
import { ipProtocol } from './hub-peer.ts'

export type IceServer = P2PConfig['iceServers'][number]

export interface P2PConfigParameters {
  peerId: string
  /** The peer listener's port. */
  port: number
  /** Configured announce addresses (each ending in /p2p/<peerId>); when non-empty they are published as they are. */
  announce: string[]
  /** What the node listens on, each ending in /p2p/<peerId>: the fallback when the Host header is unusable. */
  listening: string[]
  iceServers: IceServer[]
  /** The request's Host header. */
  hostHeader: string | undefined
}

/** The hostname of a Host header (`[::1]:8080` gives `::1`), or undefined when there is none or it is malformed. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  try {
    const { hostname } = new URL(`http://${hostHeader}`)
    return hostname.replace(/^\[(.*)\]$/, '$1') || undefined
  } catch {
    return undefined
  }
}

/** The P2PConfig for one request. */
export function p2pConfig({ peerId, port, announce, listening, iceServers, hostHeader }: P2PConfigParameters): P2PConfig {
  let multiaddrs = announce
  if (multiaddrs.length === 0) {
    const host = hostnameOf(hostHeader)
    if (!host) {
      multiaddrs = listening
    } else if (host === 'localhost') {
      // Same machine: the loopback addresses the listener is bound to (a browser may resolve `localhost` to ::1 while
      // the hub listens on 127.0.0.1 only).
      const loopback = listening.filter((a) => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/'))
      multiaddrs = loopback.length ? loopback : listening
    } else {
      // `/dns/`: the browser's WebSocket resolves the name itself (libp2p resolves only /dnsaddr/).
      const ws = listening.some((a) => a.includes('/tls/ws')) ? 'tls/ws' : 'ws'
      multiaddrs = [`${ipProtocol(host) ?? '/dns'}/${host}/tcp/${port}/${ws}/p2p/${peerId}`]
    }
  }
  return { enabled: true, peerId, multiaddrs: multiaddrs.slice(0, 16), topic: PEERS_TOPIC, protocol: BLOB_PROTOCOL, iceServers }
}

/** The P2PConfig of a hub whose peer network is off. */
export function disabledP2PConfig(): P2PConfig {
  return { enabled: false, peerId: '', multiaddrs: [], topic: PEERS_TOPIC, protocol: BLOB_PROTOCOL, iceServers: [] }
}
