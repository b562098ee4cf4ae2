/**
 * The EIP-712 voucher that MeshworkReward.claim accepts. The hub signs these with its reward key; this module is the
 * one definition of the structure, shared by the hub, the app and the tests.
 */
import type { Address, Hex, LocalAccount, TypedDataDomain } from 'viem'

/** EIP-712 types of a voucher; must match VOUCHER_TYPEHASH in MeshworkReward.sol. */
export const voucherTypes = {
  Voucher: [
    { name: 'account', type: 'address' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const

/** A voucher: `account` may hold up to `cumulativeAmount` in total, claimable until `deadline` (unix seconds). */
export type Voucher = { account: Address; cumulativeAmount: bigint; deadline: bigint }

/** The contract's EIP-712 domain, as set by its constructor (`EIP712("Meshwork Reward", "1")`). */
export function voucherDomain(chainId: number, verifyingContract: Address): TypedDataDomain {
  return { name: 'Meshwork Reward', version: '1', chainId, verifyingContract }
}

/** Signs a voucher with a local account, e.g. `privateKeyToAccount(hubRewardKey)`. */
export function signVoucher(
  signer: Pick<LocalAccount, 'signTypedData'>,
  params: { chainId: number; contract: Address; voucher: Voucher },
): Promise<Hex> {
  return signer.signTypedData({
    domain: voucherDomain(params.chainId, params.contract),
    types: voucherTypes,
    primaryType: 'Voucher',
    message: params.voucher,
  })
}
