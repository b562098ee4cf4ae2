/**
 * A local chain for tests and `npm run chain`: anvil from @foundry-rs/anvil-linux-amd64 on 127.0.0.1 (a free port
 * unless one is named), stopped by its own PID; and a deploy helper for MeshworkReward.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getAddress, type Account, type Address, type Chain, type PublicClient, type Transport, type WalletClient } from 'viem'
import { meshworkRewardAbi, meshworkRewardBytecode } from './generated/MeshworkReward.ts'
import { freePort } from '../server/free-port.ts'

/** Where npm puts the anvil binary (an optionalDependency, so it may be missing on other platforms). */
export const anvilPath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'node_modules',
  '@foundry-rs',
  'anvil-linux-amd64',
  'bin',
  'anvil',
)

/** Thrown when anvil is missing or does not come up. */
export class AnvilError extends Error {
  override name = 'AnvilError'
}

/** anvil's first dev account (from its default mnemonic): funded on every fresh anvil chain, public to everyone. */
export const ANVIL_DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

export type Anvil = { url: string; port: number; chainId: number; process: ChildProcess; stop: () => Promise<void> }

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function chainIdAt(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    })
    const body = (await res.json()) as { result?: string }
    return body.result ? Number(body.result) : undefined
  } catch {
    return undefined
  }
}

export interface StartAnvilOptions {
  /** The chain id anvil reports. @default 31337 */
  chainId?: number
  /** The port on 127.0.0.1; it must be free. @default a free port */
  port?: number
  /** More anvil arguments, e.g. `['--state', path]`. @default [] */
  args?: string[]
  /** How long to wait for it to answer. @default 10000 */
  timeoutMs?: number
}

/**
 * Starts anvil on 127.0.0.1 and waits until it answers eth_chainId. `stop()` sends SIGINT, on which anvil writes its
 * `--state` file before it exits.
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const { chainId = 31337, timeoutMs = 10_000, args = [] } = options
  if (!existsSync(anvilPath)) {
    throw new AnvilError(
      `anvil binary not found at ${anvilPath}. It comes from the optional dependency ` +
        `@foundry-rs/anvil-linux-amd64 (linux x64 only): run npm ci on linux x64.`,
    )
  }
  // Checked first: otherwise another anvil already on the port could answer before ours fails to bind.
  if (options.port !== undefined && !(await portIsFree(options.port))) {
    throw new AnvilError(`Port ${options.port} on 127.0.0.1 is in use (another anvil or \`npm run chain\`?); choose another port.`)
  }
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const child = spawn(
    anvilPath,
    ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGINT')
      await exited
    }
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new AnvilError(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`)
    if ((await chainIdAt(url)) === chainId) return { url, port, chainId, process: child, stop }
    await new Promise((r) => setTimeout(r, 50))
  }
  await stop()
  throw new AnvilError(`anvil at ${url} did not answer eth_chainId within ${timeoutMs} ms: ${stderr.trim()}`)
}

/** Deploys MeshworkReward with `signer` as its voucher signer and returns the contract address. */
export async function deployReward(
  client: WalletClient<Transport, Chain, Account> & Pick<PublicClient, 'waitForTransactionReceipt'>,
  signer: Address,
): Promise<Address> {
  const hash = await client.deployContract({
    abi: meshworkRewardAbi,
    bytecode: meshworkRewardBytecode,
    args: [signer],
  })
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (!receipt.contractAddress) throw new AnvilError(`MeshworkReward deployment ${hash} created no contract.`)
  // receipts carry the address in lower case; checksum it so it compares equal to what viem returns elsewhere
  return getAddress(receipt.contractAddress)
}
