/**
 * The wagmi configuration for the hub's rewards chain: one chain (from GET /rewards), read over its RPC endpoint,
 * and every injected wallet the browser announces through EIP-6963 offered as its own connector.
 */
import { createConfig, createStorage, http, injected, type Config } from '@wagmi/core'
import { defineChain, type Chain } from 'viem'
import type { RewardsInfo } from '../../../protocol/wallet.ts'

/** Well-known names; any other chain id is shown as "Chain <id>". */
const CHAIN_NAMES: Record<number, string> = { 1: 'Ethereum', 10: 'OP Mainnet', 8453: 'Base', 84532: 'Base Sepolia', 11155111: 'Sepolia', 31337: 'Local chain (anvil)' }

export type EnabledRewards = Required<RewardsInfo> & { enabled: true }

/** The viem chain the rewards contract lives on, with the hub's RPC endpoint (what a wallet adds if it lacks it). */
export function rewardsChain(info: EnabledRewards): Chain {
  return defineChain({
    id: info.chainId,
    name: CHAIN_NAMES[info.chainId] ?? `Chain ${info.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [info.rpcUrl] } },
  })
}

/** A wagmi config for `info`'s chain; its connection is remembered in localStorage so a reload reconnects. */
export function createWalletConfig(info: EnabledRewards): Config {
  const chain = rewardsChain(info)
  return createConfig({
    chains: [chain],
    // `injected()` covers a legacy wallet that sets window.ethereum without announcing itself (EIP-6963).
    connectors: [injected()],
    multiInjectedProviderDiscovery: true,
    storage: createStorage({ storage: localStorage, key: 'meshwork.wagmi' }),
    transports: { [chain.id]: http(info.rpcUrl, { retryCount: 1 }) },
  })
}
