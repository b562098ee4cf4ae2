/**
 * Claiming: a voucher from the hub for the wallet's cumulative verified credit, simulated against the contract first
 * (so a revert is reported by its error name before the wallet asks to pay gas), sent from the connected wallet, and
 * followed to its receipt.
 */
import { simulateContract, waitForTransactionReceipt, writeContract, type Config } from '@wagmi/core'
import type { Address, Hex, TransactionReceipt } from 'viem'
import { meshworkRewardAbi } from '../../../contracts/index.ts'
import { MeshworkError } from '../../../protocol/errors.ts'
import type { RewardVoucher } from '../../../protocol/wallet.ts'
import type { HubClient } from '../hub/client.ts'

export interface ClaimParameters {
  account: Address
  sessionToken: string
  /** Called once the wallet has sent the transaction, before it is mined. */
  onSent?: (hash: Hex, voucher: RewardVoucher) => void
}

export interface ClaimReturnType {
  voucher: RewardVoucher
  receipt: TransactionReceipt
}

export async function claimRewards(config: Config, hub: HubClient, p: ClaimParameters): Promise<ClaimReturnType> {
  const voucher = await hub.voucher(p.sessionToken)
  const { request } = await simulateContract(config, {
    account: p.account,
    chainId: voucher.chainId,
    address: voucher.contract as Address,
    abi: meshworkRewardAbi,
    functionName: 'claim',
    args: [voucher.account as Address, BigInt(voucher.cumulativeAmount), BigInt(voucher.deadline), voucher.signature as Hex],
  })
  const hash = await writeContract(config, request)
  p.onSent?.(hash, voucher)
  const receipt = await waitForTransactionReceipt(config, { hash, chainId: voucher.chainId })
  if (receipt.status !== 'success') {
    throw new MeshworkError(`The claim transaction ${hash} failed on chain (block ${receipt.blockNumber}); nothing was paid.`, { code: 'internal' })
  }
  return { voucher, receipt }
}
