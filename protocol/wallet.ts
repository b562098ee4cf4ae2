/** Wallet sign-in (EIP-4361) on the wire: nonce, sign-in request and session. */
import { z } from 'zod'

/** Largest SIWE message the hub reads. */
export const MAX_SIWE_MESSAGE_CHARS = 4096
/** How long a nonce from `GET /auth/nonce` may be used. */
export const SIWE_NONCE_TTL_MS = 10 * 60 * 1000
/** Longest session a sign-in opens (the message's expiration may shorten it). */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000
/** The header that carries the session token. */
export const SESSION_HEADER = 'x-meshwork-session'

export const SiweNonce = z.object({ nonce: z.string() })
export type SiweNonce = z.infer<typeof SiweNonce>

export const SignInRequest = z.strictObject({
  message: z.string().min(1).max(MAX_SIWE_MESSAGE_CHARS),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130,1024}$/, 'must be a 0x-prefixed hex signature'),
})
export type SignInRequest = z.infer<typeof SignInRequest>

export const WalletSession = z.object({
  address: z.string(),
  /** Bearer token for SESSION_HEADER; shown once. */
  token: z.string(),
  expiresAt: z.number(),
})
export type WalletSession = z.infer<typeof WalletSession>

export const WalletStatus = z.object({
  address: z.string(),
  /** Devices linked to this wallet by sign-in. */
  devices: z.int(),
  /** Verified credit of all linked devices, in flops. */
  creditFlops: z.number(),
})
export type WalletStatus = z.infer<typeof WalletStatus>

/** The hub's reward settings as the app needs them; `enabled: false` when no chain is configured. */
export const RewardsInfo = z.object({
  enabled: z.boolean(),
  chainId: z.int().optional(),
  /** The MeshworkReward contract. */
  contract: z.string().optional(),
  /** JSON-RPC endpoint the app may use to read the chain. */
  rpcUrl: z.string().optional(),
  /** Token base units (wei) per credit (1 GFLOP), as a decimal string. */
  weiPerCredit: z.string().optional(),
})
export type RewardsInfo = z.infer<typeof RewardsInfo>

/** A signed voucher for the signed-in wallet's cumulative verified credit; amounts are decimal strings (uint256). */
export const RewardVoucher = z.object({
  account: z.string(),
  cumulativeAmount: z.string(),
  /** Unix seconds. */
  deadline: z.int(),
  signature: z.string(),
  chainId: z.int(),
  contract: z.string(),
  /** The credit the amount was computed from, in flops. */
  creditFlops: z.number(),
})
export type RewardVoucher = z.infer<typeof RewardVoucher>

/** Flops in one credit (1 GFLOP). */
export const FLOPS_PER_CREDIT = 1_000_000_000n

/** Token base units for `creditFlops` at `weiPerCredit`, rounded down: never more than the verified credit pays. */
export function tokensFor(creditFlops: number, weiPerCredit: bigint): bigint {
  return (BigInt(Math.floor(creditFlops)) * weiPerCredit) / FLOPS_PER_CREDIT
}
