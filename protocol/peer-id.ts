/**
 * One identity per volunteer: the libp2p peer id is derived from the same Ed25519 public key as the hub's device id,
 * so the hub maps a peer to a device (and a bandwidth receipt's server to a ledger account) without a second key.
 * Kept out of protocol/index.ts so the app loads @libp2p/* only when peers start.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { fromBase64, toBase64Url } from './encoding.ts'
import { DEVICE_ID_PATTERN } from './signing.ts'

/** The libp2p peer id (base58 string) of a device id. */
export function peerIdOfDevice(deviceId: string): string {
  const raw = DEVICE_ID_PATTERN.test(deviceId) ? fromBase64(deviceId) : null
  if (!raw || raw.length !== 32) throw new TypeError(`not a device id: ${deviceId.slice(0, 64)}`)
  return peerIdFromPublicKey(publicKeyFromRaw(raw)).toString()
}

/** The device id of an Ed25519 libp2p peer id, or undefined for other key types. */
export function deviceOfPeerId(peerId: string): string | undefined {
  try {
    const id = peerIdFromString(peerId)
    if (id.type !== 'Ed25519' || !id.publicKey) return undefined
    return toBase64Url(id.publicKey.raw)
  } catch {
    return undefined
  }
}
