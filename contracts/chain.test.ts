/**
 * `npm run chain` as a user runs it: a child process that starts anvil, deploys MeshworkReward for the reward key in
 * DATA_DIR and writes chain.json; stopped with SIGINT and started again, it keeps the same contract and balances.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createTestClient, http, parseUnits, publicActions, walletActions, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, describe, expect, it } from 'vitest'
import { readChainFile } from '../server/wallet/chain-file.ts'
import { tempDir } from '../server/test-helpers.ts'
import { freePort } from '../server/free-port.ts'
import { ANVIL_DEV_KEY } from './anvil.ts'
import { meshworkRewardAbi } from './generated/MeshworkReward.ts'
import { signVoucher } from './voucher.ts'

const { dir, remove } = tempDir()
const running = new Set<ChildProcess>()

afterAll(() => {
  // After a failure: each run is its own process group (detached), so this ends chain.ts and its anvil, nothing else.
  for (const child of running) if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL')
  remove()
})

/** Starts `contracts/chain.ts` and resolves with its output once it says the chain is ready. */
async function startChain(port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, MESHWORK_CHAIN_PORT: String(port) }
  delete env.MESHWORK_CHAIN_ID
  delete env.MESHWORK_REWARD_KEY
  const child = spawn(process.execPath, ['--import', 'tsx', 'contracts/chain.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  running.add(child)
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chain.ts not ready after 30 s:\n${output}`)), 30_000)
    const onData = () => {
      if (output.includes('it picks this up')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`chain.ts exited with ${code} before it was ready:\n${output}`))
    })
  })
  return { child, output: () => output }
}

/** Sends SIGINT and resolves with the exit code. */
async function stopChain(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  process.kill(child.pid!, 'SIGINT')
  const code = await exited
  running.delete(child)
  return code
}

function client(url: string) {
  return createTestClient({ chain: foundry, mode: 'anvil', account: privateKeyToAccount(ANVIL_DEV_KEY), transport: http(url, { retryCount: 0 }) })
    .extend(publicActions)
    .extend(walletActions)
}

describe('npm run chain', () => {
  it('deploys for the reward key in DATA_DIR, writes chain.json, and keeps contract and balances across a restart', async () => {
    const port = await freePort()
    const volunteer = privateKeyToAccount(generatePrivateKey()).address
    const amount = parseUnits('3', 18)

    const first = await startChain(port)
    const chain = await readChainFile(dir)
    expect(chain).toEqual({ chainId: 31337, rpcUrl: `http://127.0.0.1:${port}`, contract: expect.stringMatching(/^0x/) })
    const contract = chain!.contract
    const rewardKey = fs.readFileSync(path.join(dir, 'reward-key'), 'utf8').trim() as Hex
    const signer = privateKeyToAccount(rewardKey)
    const c = client(chain!.rpcUrl)
    expect(await c.getCode({ address: contract })).toMatch(/^0x[0-9a-f]{2,}/)
    expect(await c.readContract({ address: contract, abi: meshworkRewardAbi, functionName: 'voucherSigner' })).toBe(signer.address)
    expect(first.output()).toContain(contract)
    expect(first.output()).toContain(signer.address)
    expect(first.output()).toContain(privateKeyToAccount(ANVIL_DEV_KEY).address)

    // A claim on the first run: the balance must still be there after the restart.
    await claim(c, contract, signer, volunteer, amount)
    expect(await balanceOf(c, contract, volunteer)).toBe(amount)
    expect(await stopChain(first.child)).toBe(0)
    expect(fs.existsSync(path.join(dir, 'anvil-state.json'))).toBe(true)

    const second = await startChain(port)
    expect(second.output()).toContain('the one deployed before')
    expect(await readChainFile(dir)).toEqual(chain)
    expect(await c.readContract({ address: contract, abi: meshworkRewardAbi, functionName: 'voucherSigner' })).toBe(signer.address)
    expect(await balanceOf(c, contract, volunteer)).toBe(amount)
    expect(await stopChain(second.child)).toBe(0)
  }, 90_000)
})

async function claim(c: ReturnType<typeof client>, contract: Address, signer: ReturnType<typeof privateKeyToAccount>, account: Address, amount: bigint) {
  const deadline = (await c.getBlock()).timestamp + 3600n
  const signature = await signVoucher(signer, { chainId: 31337, contract, voucher: { account, cumulativeAmount: amount, deadline } })
  const hash = await c.writeContract({ address: contract, abi: meshworkRewardAbi, functionName: 'claim', args: [account, amount, deadline, signature] })
  expect((await c.waitForTransactionReceipt({ hash })).status).toBe('success')
}

function balanceOf(c: ReturnType<typeof client>, contract: Address, account: Address) {
  return c.readContract({ address: contract, abi: meshworkRewardAbi, functionName: 'balanceOf', args: [account] })
}
