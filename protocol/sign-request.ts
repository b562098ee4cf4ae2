/**
 * Signs a volunteer request with a device key. Pure WebCrypto, so the same code runs in the app, a worker, the hub's
 * tests and the benchmark's simulated volunteers.
 */
import { toBase64Url } from './encoding.ts'
import { canonicalRequest, DEVICE_HEADER, SIGNATURE_HEADER, TIME_HEADER } from './signing.ts'

export interface DeviceKey {
  /** base64url of the raw 32-byte Ed25519 public key; the device's id on the hub. */
  deviceId: string
  privateKey: CryptoKey
}

export interface SignRequestParameters {
  method: string
  path: string
  body?: Uint8Array
  /** @default Date.now() */
  time?: number
}

/** Generates a new Ed25519 device key. The private key is not extractable: it never leaves the device. */
export async function generateDeviceKey(): Promise<DeviceKey & { publicKey: CryptoKey }> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  return { deviceId: toBase64Url(raw), privateKey: pair.privateKey, publicKey: pair.publicKey }
}

/** The three authentication headers for one request. */
export async function signRequest(key: DeviceKey, { method, path, body = new Uint8Array(), time = Date.now() }: SignRequestParameters): Promise<Record<string, string>> {
  const message = await canonicalRequest({ method, path, time, body })
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, message as Uint8Array<ArrayBuffer>))
  return {
    [DEVICE_HEADER]: key.deviceId,
    [TIME_HEADER]: String(time),
    [SIGNATURE_HEADER]: toBase64Url(signature),
  }
}
