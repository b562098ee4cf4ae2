/**
 * Sign-In with Ethereum (EIP-4361) on the hub: a single-use nonce, the hub's own domain and URI, an expiry, then a
 * signature check. Every rejection names what was wrong; the nonce is spent only by a sign-in that passed every check.
 */
import { isAddress, verifyMessage, getAddress, type Hex } from 'viem'
import { parseSiweMessage } from 'viem/siwe'
import { MeshworkError } from '../../protocol/errors.ts'
import { SESSION_TTL_MS, SIWE_NONCE_TTL_MS } from '../../protocol/wallet.ts'
import { sha256Hex, toBase64Url } from '../../protocol/encoding.ts'
import type { Store } from '../store/types.ts'

/** Most clock skew tolerated on the message's issuedAt. */
const MAX_ISSUED_SKEW_MS = 5 * 60 * 1000

export interface SignInParameters {
  message: string
  signature: Hex
  /** The hub's public origin, e.g. `https://hub.example.org`: its host must be the message's domain. */
  publicUrl: string
  deviceId: string
  now: number
}

function reject(message: string): never {
  throw new MeshworkError(message, { code: 'unauthorized' })
}

/** A fresh nonce the next sign-in must carry (alphanumeric, as EIP-4361 requires). */
export async function issueNonce(store: Store, now: number): Promise<string> {
  const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(18))).replace(/[-_]/g, 'x')
  await store.issueNonce(nonce, now)
  return nonce
}

/** Verifies a signed SIWE message and opens a session for its address; resolves to the bearer token. */
export async function signIn(store: Store, p: SignInParameters): Promise<{ address: string; token: string; expiresAt: number }> {
  const fields = parseSiweMessage(p.message)
  if (!fields.address || !isAddress(fields.address) || !fields.domain || !fields.uri || !fields.nonce || fields.version !== '1') {
    reject('The sign-in message is not an EIP-4361 message (address, domain, uri, version 1 and nonce are required).')
  }
  const hub = new URL(p.publicUrl)
  if (fields.domain !== hub.host) reject(`The sign-in message is for ${fields.domain}, not this hub (${hub.host}).`)
  let uri: URL
  try {
    uri = new URL(fields.uri)
  } catch {
    reject('The sign-in message has no valid uri.')
  }
  if (uri.origin !== hub.origin) reject(`The sign-in message's uri ${uri.origin} is not this hub (${hub.origin}).`)
  if (!fields.expirationTime) reject('The sign-in message must carry an expiration time.')
  if (fields.expirationTime.getTime() <= p.now) reject('The sign-in message has expired.')
  if (fields.notBefore && fields.notBefore.getTime() > p.now) reject('The sign-in message is not valid yet.')
  if (fields.issuedAt && fields.issuedAt.getTime() > p.now + MAX_ISSUED_SKEW_MS) reject('The sign-in message was issued in the future.')
  const address = getAddress(fields.address)
  const valid = await verifyMessage({ address, message: p.message, signature: p.signature }).catch(() => false)
  if (!valid) reject('The signature does not match the message and its address.')
  // Last, so a bad signature cannot burn someone else's nonce.
  if (!(await store.consumeNonce(fields.nonce, p.now, SIWE_NONCE_TTL_MS))) {
    reject('The sign-in nonce is unknown, expired or already used; ask for a new one.')
  }
  const token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)))
  const expiresAt = Math.min(fields.expirationTime.getTime(), p.now + SESSION_TTL_MS)
  const opened = await store.openSession({ tokenHash: await sha256Hex(new TextEncoder().encode(token)), address, deviceId: p.deviceId, expiresAt }, p.now)
  if (opened === 'other_wallet') {
    throw new MeshworkError('This device is already linked to another wallet; sign in with that wallet.', { code: 'conflict' })
  }
  return { address, token, expiresAt }
}

/** The address of the session whose token is `token`, or an unauthorized error. */
export async function sessionAddress(store: Store, token: string | undefined, now: number): Promise<string> {
  if (!token || token.length > 128) reject('Sign in with your wallet first (no session).')
  const address = await store.sessionAddress(await sha256Hex(new TextEncoder().encode(token)), now)
  if (!address) reject('The wallet session has expired or is unknown; sign in again.')
  return address
}
