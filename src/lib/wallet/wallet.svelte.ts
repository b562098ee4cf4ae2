/**
 * The Wallet page's state: the hub's rewards settings, the wallets this browser offers, the connected account, the
 * sign-in session, what the wallet has earned and claimed, and the claim transaction in flight. Loaded only when the
 * Wallet page opens (it pulls in wagmi and viem), and nothing here is needed to contribute.
 */
import {
  connect,
  disconnect,
  getConnection,
  getConnectors,
  readContract,
  reconnect,
  switchChain,
  watchConnection,
  watchConnectors,
  type Config,
  type Connector,
} from '@wagmi/core'
import type { Address, Hex } from 'viem'
import { meshworkRewardAbi } from '../../../contracts/index.ts'
import { FLOPS_PER_CREDIT, tokensFor, type WalletSession, type WalletStatus } from '../../../protocol/wallet.ts'
import { HubClient } from '../hub/client.ts'
import { ensureDeviceKey } from '../identity/index.ts'
import { claimRewards } from './claim.ts'
import { createWalletConfig, rewardsChain, type EnabledRewards } from './config.ts'
import { walletErrorMessage } from './errors.ts'
import { clearSession, loadSession, saveSession } from './session.ts'
import { signInWithEthereum } from './sign-in.ts'

/** A wallet the person can pick. */
export interface WalletChoice {
  uid: string
  name: string
  icon: string | undefined
}

export interface ConnectedAccount {
  address: Address
  chainId: number
  wallet: string
}

export interface ClaimTransaction {
  hash: Hex
  state: 'pending' | 'confirmed'
  /** Base units this claim pays. */
  amount: bigint
  block?: bigint
}

type Busy = '' | 'connect' | 'switch' | 'sign-in' | 'claim'

export class Wallet {
  #info = $state<EnabledRewards | { enabled: false } | undefined>(undefined)
  #choices = $state<WalletChoice[]>([])
  #account = $state<ConnectedAccount | undefined>(undefined)
  #session = $state<WalletSession | undefined>(undefined)
  #status = $state<WalletStatus | undefined>(undefined)
  #claimed = $state<bigint | undefined>(undefined)
  #balance = $state<bigint | undefined>(undefined)
  #busy = $state<Busy>('')
  #tx = $state<ClaimTransaction | undefined>(undefined)
  #error = $state('')
  #config: Config | undefined
  #connectors: readonly Connector[] = []
  readonly #hub = new HubClient(undefined)
  #opened: Promise<void> | undefined

  /** `undefined` while loading; `{ enabled: false }` when this hub pays no rewards. */
  get info() { return this.#info }
  get choices() { return this.#choices }
  get account() { return this.#account }
  get session() { return this.#session }
  get status() { return this.#status }
  get claimed() { return this.#claimed }
  get balance() { return this.#balance }
  get busy() { return this.#busy }
  get tx() { return this.#tx }
  get error() { return this.#error }
  get chainName(): string { return this.#info?.enabled ? rewardsChain(this.#info).name : '' }

  /** The wallet is connected to another chain than the contract's. */
  get wrongChain(): boolean {
    return !!this.#account && !!this.#info?.enabled && this.#account.chainId !== this.#info.chainId
  }

  /** Every token the wallet's verified credit pays for, claimed or not. */
  get earned(): bigint | undefined {
    if (!this.#status || !this.#info?.enabled) return undefined
    return tokensFor(this.#status.creditFlops, BigInt(this.#info.weiPerCredit))
  }

  /** Tokens earned and not claimed yet. */
  get unclaimed(): bigint | undefined {
    const earned = this.earned
    if (earned === undefined || this.#claimed === undefined) return undefined
    return earned > this.#claimed ? earned - this.#claimed : 0n
  }

  /** The verified credit (flops) behind the unclaimed tokens. */
  get unclaimedCreditFlops(): number | undefined {
    const unclaimed = this.unclaimed
    if (unclaimed === undefined || !this.#info?.enabled) return undefined
    return Number((unclaimed * FLOPS_PER_CREDIT) / BigInt(this.#info.weiPerCredit))
  }

  /** Loads the hub's rewards settings and, when it pays rewards, discovers wallets and restores a connection. */
  open(): Promise<void> {
    this.#opened ??= this.#open().catch((error) => {
      this.#opened = undefined
      this.#error = walletErrorMessage(error)
    })
    return this.#opened
  }

  async #open(): Promise<void> {
    const info = await this.#hub.rewards()
    if (!info.enabled || info.chainId === undefined || !info.contract || !info.rpcUrl || !info.weiPerCredit) {
      this.#info = { enabled: false }
      return
    }
    const enabled = info as EnabledRewards
    this.#info = enabled
    const config = createWalletConfig(enabled)
    this.#config = config
    this.#setConnectors(getConnectors(config))
    watchConnectors(config, { onChange: (connectors) => this.#setConnectors(connectors) })
    watchConnection(config, { onChange: () => this.#onConnection() })
    await reconnect(config)
    this.#onConnection()
  }

  #setConnectors(connectors: readonly Connector[]): void {
    // The generic injected connector duplicates one of the announced wallets when any announce themselves, and is
    // useless when window.ethereum is missing.
    const announced = connectors.filter((c) => c.type === 'injected' && c.id !== 'injected')
    const legacy = connectors.filter((c) => c.id === 'injected' && typeof window !== 'undefined' && 'ethereum' in window)
    this.#connectors = announced.length ? announced : legacy
    this.#choices = this.#connectors.map((c) => ({ uid: c.uid, name: c.id === 'injected' ? 'Browser wallet' : c.name, icon: c.icon }))
  }

  #onConnection(): void {
    const config = this.#config
    if (!config) return
    const connection = getConnection(config)
    if (connection.status !== 'connected') {
      this.#account = undefined
      this.#session = undefined
      return
    }
    const previous = this.#account?.address
    this.#account = { address: connection.address, chainId: connection.chainId, wallet: connection.connector.name }
    if (previous !== connection.address) {
      this.#session = loadSession(connection.address)
      this.#status = undefined
      this.#claimed = undefined
      this.#balance = undefined
      void this.refresh()
    }
  }

  async #run(busy: Busy, action: () => Promise<void>): Promise<void> {
    if (this.#busy) return
    this.#busy = busy
    this.#error = ''
    try {
      await action()
    } catch (error) {
      this.#error = walletErrorMessage(error)
    } finally {
      this.#busy = ''
    }
  }

  /** Connects the wallet the person picked. */
  connect(uid: string): Promise<void> {
    return this.#run('connect', async () => {
      const connector = this.#connectors.find((c) => c.uid === uid)
      if (!connector || !this.#config) throw new Error('That wallet is no longer available; reload the page.')
      await connect(this.#config, { connector })
      this.#onConnection()
    })
  }

  async disconnect(): Promise<void> {
    if (this.#config) await disconnect(this.#config).catch(() => undefined)
    this.#onConnection()
  }

  /** Asks the wallet to switch to (or add) the rewards chain. */
  switchChain(): Promise<void> {
    return this.#run('switch', async () => {
      if (!this.#config || !this.#info?.enabled) return
      await switchChain(this.#config, { chainId: this.#info.chainId })
      this.#onConnection()
    })
  }

  /** Signs in with the connected wallet; the hub links this device to it. */
  signIn(): Promise<void> {
    return this.#run('sign-in', async () => {
      const account = this.#account
      if (!this.#config || !account) throw new Error('Connect a wallet first.')
      const hub = new HubClient(await ensureDeviceKey())
      const session = await signInWithEthereum(this.#config, hub, { address: account.address, chainId: account.chainId })
      saveSession(session)
      this.#session = session
      await this.refresh()
    })
  }

  signOut(): void {
    clearSession()
    this.#session = undefined
    this.#status = undefined
  }

  /** Claims every unclaimed token in one transaction and follows it to its receipt. */
  claim(): Promise<void> {
    return this.#run('claim', async () => {
      const account = this.#account
      const session = this.#session
      if (!this.#config || !account || !session) throw new Error('Sign in first.')
      this.#tx = undefined
      const already = this.#claimed ?? 0n
      const { voucher, receipt } = await claimRewards(this.#config, this.#hub, {
        account: account.address,
        sessionToken: session.token,
        onSent: (hash, v) => (this.#tx = { hash, state: 'pending', amount: BigInt(v.cumulativeAmount) - already }),
      })
      this.#tx = { hash: receipt.transactionHash, state: 'confirmed', amount: BigInt(voucher.cumulativeAmount) - already, block: receipt.blockNumber }
      await this.refresh()
    })
  }

  /** Reloads the wallet's verified credit from the hub and its claimed amount and balance from the chain. */
  async refresh(): Promise<void> {
    const config = this.#config
    const info = this.#info
    const account = this.#account
    if (!config || !info?.enabled || !account) return
    try {
      const read = (functionName: 'claimed' | 'balanceOf') =>
        readContract(config, { chainId: info.chainId, address: info.contract as Address, abi: meshworkRewardAbi, functionName, args: [account.address] })
      const [claimed, balance] = await Promise.all([read('claimed'), read('balanceOf')])
      this.#claimed = claimed
      this.#balance = balance
      if (this.#session) this.#status = await this.#hub.wallet(this.#session.token)
    } catch (error) {
      if ((error as { code?: unknown }).code === 'unauthorized') {
        // The session expired or the hub forgot it: sign in again.
        this.signOut()
        return
      }
      this.#error = walletErrorMessage(error)
    }
  }
}
