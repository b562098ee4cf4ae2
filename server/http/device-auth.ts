/**
 * Volunteer authentication by device signature (see protocol/signing.ts): the device's Ed25519 public key is its id,
 * and every request carries the time and a signature over method, path with query, time and the body's hash. The
 * header checks run before the body is read; the signature is checked over the exact bytes received.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { MeshworkError } from '../../protocol/errors.ts'
import { fromBase64 } from '../../protocol/encoding.ts'
import { MAX_CLOCK_SKEW_MS } from '../../protocol/limits.ts'
import { canonicalRequestWithHash, DEVICE_HEADER, DEVICE_ID_PATTERN, SIGNATURE_HEADER, TIME_HEADER } from '../../protocol/signing.ts'

export interface DeviceHeaders {
  deviceId: string
  time: number
  signature: Uint8Array
  key: KeyObject
}

const unauthorized = (message: string) => new MeshworkError(message, { code: 'unauthorized' })

// Importing a key costs more than verifying with it, and a device signs many requests.
const keyCache = new Map<string, KeyObject>()
const KEY_CACHE_SIZE = 10_000

function publicKeyOf(deviceId: string): KeyObject {
  let key = keyCache.get(deviceId)
  if (key) return key
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: deviceId }, format: 'jwk' })
  } catch {
    throw unauthorized(`The ${DEVICE_HEADER} header is not an Ed25519 public key.`)
  }
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear()
  keyCache.set(deviceId, key)
  return key
}

/** Reads and checks the three signature headers (format and clock skew); throws `unauthorized` naming the header. */
export function readDeviceHeaders(headers: Headers, now = Date.now()): DeviceHeaders {
  const deviceId = headers.get(DEVICE_HEADER)
  if (!deviceId) throw unauthorized(`Missing ${DEVICE_HEADER} header: volunteer requests must be signed with the device key.`)
  if (!DEVICE_ID_PATTERN.test(deviceId)) {
    throw unauthorized(`The ${DEVICE_HEADER} header must be a base64url raw Ed25519 public key (43 characters).`)
  }
  const timeText = headers.get(TIME_HEADER)
  if (!timeText) throw unauthorized(`Missing ${TIME_HEADER} header: send the request time in ms since the epoch.`)
  const time = Number(timeText)
  if (!/^\d{1,16}$/.test(timeText) || !Number.isSafeInteger(time)) {
    throw unauthorized(`The ${TIME_HEADER} header must be the request time in ms since the epoch, got "${timeText.slice(0, 40)}".`)
  }
  const skew = Math.abs(now - time)
  if (skew > MAX_CLOCK_SKEW_MS) {
    throw unauthorized(
      `The ${TIME_HEADER} header is ${skew} ms away from the hub's clock (at most ${MAX_CLOCK_SKEW_MS} allowed); check the device's clock.`,
    )
  }
  const signatureText = headers.get(SIGNATURE_HEADER)
  if (!signatureText) throw unauthorized(`Missing ${SIGNATURE_HEADER} header: sign the request with the device key.`)
  const signature = /^[A-Za-z0-9_-]{86}$/.test(signatureText) ? fromBase64(signatureText) : null
  if (!signature || signature.byteLength !== 64) {
    throw unauthorized(`The ${SIGNATURE_HEADER} header must be a base64url Ed25519 signature (86 characters).`)
  }
  return { deviceId, time, signature, key: publicKeyOf(deviceId) }
}

export interface VerifyDeviceSignatureParameters {
  method: string
  /** Path with query string, exactly as the client sent it. */
  path: string
  body: Uint8Array
}

/** Checks the signature over the canonical request; throws `unauthorized` naming the signature header. */
export async function verifyDeviceSignature(device: DeviceHeaders, { method, path, body }: VerifyDeviceSignatureParameters): Promise<void> {
  // The same bytes as protocol/signing.ts's canonicalRequest, hashed synchronously (WebCrypto's digest is a thread-pool
  // round trip per request).
  const message = canonicalRequestWithHash({ method, path, time: device.time, bodyHash: createHash('sha256').update(body).digest('hex') })
  if (!verify(null, message, device.key, device.signature)) {
    throw unauthorized(
      `The ${SIGNATURE_HEADER} header does not match this request (method, path with query, ${TIME_HEADER} and body) for device ${device.deviceId}.`,
    )
  }
}
