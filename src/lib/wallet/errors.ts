/**
 * One clear sentence for every way a wallet action fails: a rejected request, a missing wallet, the wrong chain, a
 * contract revert (by the contract's own error name), a failed transaction, the chain or the hub out of reach.
 */
import { BaseError as WagmiBaseError } from '@wagmi/core'
import { BaseError, ContractFunctionRevertedError, HttpRequestError, UserRejectedRequestError } from 'viem'
import { MeshworkError } from '../../../protocol/errors.ts'

/** EIP-1193 code a wallet answers with when the person declines. */
const USER_REJECTED = 4001

/** Messages for MeshworkReward's custom errors (contracts/MeshworkReward.sol). */
const REVERTS: Record<string, string> = {
  VoucherExpired: 'The voucher expired before the transaction was mined. Press Claim again for a fresh one.',
  InvalidSigner: "The reward contract did not accept the hub's signature: the hub's reward key does not match this contract. Tell the hub's operator.",
  NothingToClaim: 'Nothing to claim: every token your verified credit pays for has been claimed already.',
}

function walk(error: unknown, test: (e: unknown) => boolean): unknown {
  for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (test(e)) return e
  }
  return undefined
}

/** A message for people, naming what went wrong and what to do. */
export function walletErrorMessage(error: unknown): string {
  if (walk(error, (e) => e instanceof UserRejectedRequestError || (e as { code?: unknown }).code === USER_REJECTED)) {
    return 'You declined the request in your wallet. Nothing was signed or sent.'
  }
  if (error instanceof MeshworkError) return error.shortMessage
  const named = (name: string) => walk(error, (e) => (e as { name?: unknown }).name === name)
  if (named('ProviderNotFoundError') || named('ConnectorNotFoundError')) {
    return 'No browser wallet was found. Install or unlock one, then reload this page.'
  }
  if (named('SwitchChainNotSupportedError')) return 'Your wallet cannot switch chains from a page: switch it to the rewards chain yourself.'
  if (named('ConnectorChainMismatchError') || named('ChainMismatchError')) {
    return 'Your wallet is on another chain than the rewards contract. Switch chains and try again.'
  }
  const reverted = walk(error, (e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | undefined
  if (reverted) {
    const name = reverted.data?.errorName
    return (name && REVERTS[name]) ?? `The reward contract refused the claim: ${reverted.reason ?? reverted.shortMessage}`
  }
  const http = walk(error, (e) => e instanceof HttpRequestError) as HttpRequestError | undefined
  if (http) return `Could not reach the chain at ${http.url}. Is its RPC endpoint up?`
  if (error instanceof BaseError || error instanceof WagmiBaseError) return error.shortMessage
  return error instanceof Error ? error.message : String(error)
}
