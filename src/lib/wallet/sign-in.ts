/**
 * Sign-In with Ethereum (EIP-4361): a single-use nonce from the hub, this page's own domain and origin, a ten-minute
 * expiry, signed by the connected wallet and sent with the device key's signature, so the hub links this device.
 */
import { signMessage, type Config } from '@wagmi/core'
import type { Address } from 'viem'
import { createSiweMessage } from 'viem/siwe'
import type { WalletSession } from '../../../protocol/wallet.ts'
import type { HubClient } from '../hub/client.ts'

/** How long the signed message may be used. */
const MESSAGE_TTL_MS = 10 * 60 * 1000

export interface SignInParameters {
  address: Address
  chainId: number
  /** The page's location; the hub checks its host and origin against its own. @default location */
  location?: Pick<Location, 'host' | 'origin'>
}

export async function signInWithEthereum(config: Config, hub: HubClient, p: SignInParameters): Promise<WalletSession> {
  const where = p.location ?? location
  const nonce = await hub.siweNonce()
  const now = new Date()
  const message = createSiweMessage({
    address: p.address,
    chainId: p.chainId,
    domain: where.host,
    uri: where.origin,
    version: '1',
    nonce,
    issuedAt: now,
    expirationTime: new Date(now.getTime() + MESSAGE_TTL_MS),
    statement: 'Sign in to Meshwork to link this device and claim rewards for its verified work.',
  })
  const signature = await signMessage(config, { account: p.address, message })
  return hub.signIn({ message, signature })
}
