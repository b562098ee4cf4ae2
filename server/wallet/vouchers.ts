/**
 * Reward vouchers: the hub converts a wallet's verified credit (every device linked to it) into token base units at a
 * configured rate and signs an EIP-712 voucher for the cumulative amount with its reward key. The contract pays only
 * the difference from what the address already claimed, so the hub never tracks payouts and a voucher never pays twice.
 */
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { signVoucher } from '../../contracts/voucher.ts'
import { tokensFor, type RewardVoucher } from '../../protocol/wallet.ts'
import type { Store } from '../store/types.ts'

export interface RewardsConfig {
  chainId: number
  /** JSON-RPC endpoint (published to the app). */
  rpcUrl: string
  contract: Address
  /** The key whose address the contract was deployed with as voucherSigner. */
  rewardKey: Hex
  /** Token base units per credit (1 GFLOP = 1e9 flops). */
  weiPerCredit: bigint
}

/** How long a voucher may be submitted. */
export const VOUCHER_TTL_S = 60 * 60

/** Verified credit of every device linked to `address`, in flops. */
export async function walletCredit(store: Store, address: string): Promise<number> {
  let flops = 0
  for (const device of await store.walletDevices(address)) flops += (await store.deviceSummary(device)).creditFlops
  return flops
}

export async function issueVoucher(store: Store, rewards: RewardsConfig, address: Address, nowMs: number): Promise<RewardVoucher> {
  const creditFlops = await walletCredit(store, address)
  const cumulativeAmount = tokensFor(creditFlops, rewards.weiPerCredit)
  const deadline = Math.floor(nowMs / 1000) + VOUCHER_TTL_S
  const signature = await signVoucher(privateKeyToAccount(rewards.rewardKey), {
    chainId: rewards.chainId,
    contract: rewards.contract,
    voucher: { account: address, cumulativeAmount, deadline: BigInt(deadline) },
  })
  return { account: address, cumulativeAmount: cumulativeAmount.toString(), deadline, signature, chainId: rewards.chainId, contract: rewards.contract, creditFlops }
}
