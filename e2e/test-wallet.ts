/**
 * A browser wallet for tests: an EIP-1193 provider installed in the page before any script runs and announced through
 * EIP-6963, whose requests travel to Node (page.exposeFunction), where a viem account signs them with a test key and
 * anything else is forwarded to the local chain. The app's wagmi connectors talk to it exactly as to an extension.
 *
 * It follows a real wallet's rules where the app depends on them: it starts on whatever chain it is told (so the app
 * must ask it to switch), answers an unknown chain with 4902, sends transactions only on the chain it is on, and
 * can be told to decline the next request of a kind (code 4001), as a person pressing Reject would.
 */
import type { Page } from '@playwright/test'
import { createWalletClient, http, numberToHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

export interface TestWalletOptions {
  privateKey: Hex
  /** The local chain the wallet can reach. */
  rpcUrl: string
  rpcChainId: number
  /** The chain the wallet is on when the page opens. @default rpcChainId */
  startChainId?: number
  /** Names under which the provider is announced; each shows up as its own wallet. @default ['Meshwork Test Wallet'] */
  names?: string[]
}

export interface TestWallet {
  address: Hex
  /** The next request with this method is declined as if by the person (EIP-1193 code 4001). */
  declineNext(method: string): void
  /** Methods the page called, in order. */
  calls: string[]
}

type RpcAnswer = { result?: unknown; error?: { code: number; message: string; data?: unknown } }

const ICON = 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"%3E%3Crect width="8" height="8" fill="%232f6fdf"/%3E%3C/svg%3E'

export async function installTestWallet(page: Page, options: TestWalletOptions): Promise<TestWallet> {
  const account = privateKeyToAccount(options.privateKey)
  const walletClient = createWalletClient({ account, transport: http(options.rpcUrl, { retryCount: 0 }) })
  let chainId = options.startChainId ?? options.rpcChainId
  const declines = new Set<string>()
  const calls: string[] = []
  let authorized = false

  const forward = async (method: string, params: unknown[]): Promise<RpcAnswer> => {
    const response = await fetch(options.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    const body = (await response.json()) as RpcAnswer
    return body.error ? { error: body.error } : { result: body.result }
  }

  const handle = async (method: string, params: unknown[]): Promise<RpcAnswer> => {
    calls.push(method)
    if (declines.delete(method)) return { error: { code: 4001, message: 'User rejected the request.' } }
    switch (method) {
      case 'eth_requestAccounts':
        // The person approves the connection; like a real wallet, it remembers this site from then on.
        authorized = true
        return { result: [account.address] }
      case 'eth_accounts':
        return { result: authorized ? [account.address] : [] }
      case 'eth_chainId':
        return { result: numberToHex(chainId) }
      case 'wallet_switchEthereumChain': {
        const wanted = Number((params[0] as { chainId: string }).chainId)
        if (wanted !== options.rpcChainId) return { error: { code: 4902, message: `Unrecognized chain ID ${wanted}.` } }
        chainId = wanted
        return { result: null }
      }
      case 'wallet_addEthereumChain':
        return { result: null }
      case 'personal_sign':
        return { result: await account.signMessage({ message: { raw: params[0] as Hex } }) }
      case 'eth_sendTransaction': {
        if (chainId !== options.rpcChainId) return { error: { code: -32000, message: `The wallet is on chain ${chainId}, not ${options.rpcChainId}.` } }
        const tx = params[0] as { to: Hex; data?: Hex; value?: Hex; gas?: Hex }
        try {
          const hash = await walletClient.sendTransaction({
            chain: null,
            to: tx.to,
            data: tx.data,
            value: tx.value ? BigInt(tx.value) : undefined,
            gas: tx.gas ? BigInt(tx.gas) : undefined,
          })
          return { result: hash }
        } catch (error) {
          return { error: { code: -32000, message: error instanceof Error ? error.message : String(error) } }
        }
      }
      default:
        if (method.startsWith('eth_') || method === 'net_version') return forward(method, params)
        return { error: { code: 4200, message: `The test wallet does not support ${method}.` } }
    }
  }

  await page.exposeFunction('__meshworkTestWallet', (method: string, params: unknown[]) => handle(method, params))
  await page.addInitScript(
    ({ names, icon }) => {
      type Listener = (...args: unknown[]) => void
      const call = (window as unknown as { __meshworkTestWallet: (m: string, p: unknown[]) => Promise<RpcAnswer> }).__meshworkTestWallet
      names.forEach((name, i) => {
        const listeners = new Map<string, Set<Listener>>()
        const emit = (event: string, value: unknown) => listeners.get(event)?.forEach((l) => l(value))
        const provider = {
          async request({ method, params }: { method: string; params?: unknown[] }) {
            const answer = await call(method, params ?? [])
            if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error)
            if (method === 'wallet_switchEthereumChain') emit('chainChanged', (params![0] as { chainId: string }).chainId)
            return answer.result
          },
          on(event: string, listener: Listener) {
            if (!listeners.has(event)) listeners.set(event, new Set())
            listeners.get(event)!.add(listener)
            return provider
          },
          removeListener(event: string, listener: Listener) {
            listeners.get(event)?.delete(listener)
            return provider
          },
        }
        const info = { uuid: `00000000-0000-4000-8000-00000000000${i}`, name, icon, rdns: `org.meshwork.test${i}` }
        const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }))
        window.addEventListener('eip6963:requestProvider', announce)
        announce()
      })
    },
    { names: options.names ?? ['Meshwork Test Wallet'], icon: ICON },
  )
  return { address: account.address, declineNext: (method) => declines.add(method), calls }
}
