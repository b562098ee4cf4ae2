export { Wallet, type ClaimTransaction, type ConnectedAccount, type WalletChoice } from './wallet.svelte.ts'
export { formatTokens } from './format.ts'

import { Wallet } from './wallet.svelte.ts'

/** The page's one wallet state; this module loads only when the Wallet page opens. */
export const wallet = new Wallet()
