/**
 * The job owner's API token. Only its SHA-256 is kept (in the store's meta table, inside DATA_DIR); the token itself
 * is shown once when generated. Requests compare hashes in constant time, so response timing says nothing about it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { toBase64Url } from '../protocol/encoding.ts'
import type { Store } from './store/types.ts'

const TOKEN_HASH_KEY = 'owner.tokenSha256'

export interface OwnerTokenOptions {
  /** A token chosen by the operator (`MESHWORK_API_TOKEN`); nothing is stored for it. */
  token?: string
  /** Replace a stored generated token with a new one. @default false */
  reset?: boolean
}

export interface OwnerToken {
  /** SHA-256 hex of the token requests must present. */
  hash: string
  /** Where it came from: the environment, an earlier start, or generated just now. */
  source: 'env' | 'stored' | 'generated'
  /** The token itself, only when generated just now (to show once). */
  token?: string
}

/** SHA-256 hex of a token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Finds or creates the owner token. */
export async function ensureOwnerToken(store: Store, { token, reset = false }: OwnerTokenOptions = {}): Promise<OwnerToken> {
  if (token) return { hash: hashToken(token), source: 'env' }
  const stored = await store.getMeta(TOKEN_HASH_KEY)
  if (stored && !reset) return { hash: stored, source: 'stored' }
  const generated = `mw_${toBase64Url(randomBytes(32))}`
  const hash = hashToken(generated)
  await store.setMeta(TOKEN_HASH_KEY, hash)
  return { hash, source: 'generated', token: generated }
}

/** Whether an `Authorization` header carries the owner token, compared in constant time. */
export function checkOwnerToken(expectedHash: string, authorization: string | undefined): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
  if (!match) return false
  const presented = createHash('sha256').update(match[1], 'utf8').digest()
  return timingSafeEqual(presented, Buffer.from(expectedHash, 'hex'))
}
