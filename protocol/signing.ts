/**
 * Volunteer request signatures. Each browser holds an Ed25519 device key (WebCrypto, kept in IndexedDB); every
 * volunteer request carries the public key, a timestamp and a signature over the canonical string below, so the hub
 * authenticates devices without passwords. The body hash binds the signature to the exact bytes sent.
 */
import { sha256Hex } from './encoding.ts'

/** Header carrying the device's raw Ed25519 public key, base64url (43 characters). */
export const DEVICE_HEADER = 'x-meshwork-device'
/** Header carrying the request time in ms since the epoch. */
export const TIME_HEADER = 'x-meshwork-time'
/** Header carrying the Ed25519 signature over `canonicalRequest(...)`, base64url (86 characters). */
export const SIGNATURE_HEADER = 'x-meshwork-signature'

/** Device ids are the base64url of a 32-byte Ed25519 public key. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

export interface CanonicalRequestParameters {
  method: string
  /** Path with query string, as sent (e.g. `/api/v1/volunteer/results?limit=20`). */
  path: string
  time: number
  body: Uint8Array
}

/** The exact bytes a device signs for one request. */
export async function canonicalRequest({ method, path, time, body }: CanonicalRequestParameters): Promise<Uint8Array> {
  return canonicalRequestWithHash({ method, path, time, bodyHash: await sha256Hex(body) })
}

/** `canonicalRequest` for a body already hashed (hex SHA-256): the hub hashes synchronously with node:crypto. */
export function canonicalRequestWithHash({ method, path, time, bodyHash }: Omit<CanonicalRequestParameters, 'body'> & { bodyHash: string }): Uint8Array {
  return new TextEncoder().encode(`MESHWORK-REQUEST-V1\n${method.toUpperCase()}\n${path}\n${time}\n${bodyHash}`)
}
