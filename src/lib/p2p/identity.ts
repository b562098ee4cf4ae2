/**
 * The volunteer's libp2p identity is its device key: one Ed25519 key, one identity. The private key is a
 * non-extractable WebCrypto key, so instead of handing libp2p raw key bytes (which it would keep in memory) this
 * adapter signs through WebCrypto; libp2p awaits every signature (noise handshake, gossipsub messages, peer records).
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, Ed25519PublicKey } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { fromBase64, type DeviceKey } from '../../../protocol/index.ts'

export function deviceLibp2pKey(key: DeviceKey): Ed25519PrivateKey {
  const raw = fromBase64(key.deviceId)
  if (!raw || raw.length !== 32) throw new TypeError('The device id is not a raw Ed25519 public key.')
  const publicKey = publicKeyFromRaw(raw) as Ed25519PublicKey
  return {
    type: 'Ed25519',
    publicKey,
    get raw(): Uint8Array {
      throw new Error('The device key is not extractable; it signs through WebCrypto only.')
    },
    equals(other?: unknown): boolean {
      return other === this
    },
    async sign(data: Uint8Array | Uint8ArrayList): Promise<Uint8Array> {
      const bytes = data instanceof Uint8Array ? data : data.subarray()
      return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, bytes as Uint8Array<ArrayBuffer>))
    },
  }
}
