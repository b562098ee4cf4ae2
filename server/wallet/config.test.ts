/**
 * Rewards configuration an operator notices: env errors name the variable, `npm run chain`'s chain.json and the
 * generated reward key are picked up, and the start-up check against a real anvil tells a missing chain or contract
 * (a note) from a contract that would reject every voucher (an error).
 */
import fs from 'node:fs'
import path from 'node:path'
import { createTestClient, http, publicActions, walletActions, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ANVIL_DEV_KEY, deployReward, startAnvil, type Anvil } from '../../contracts/anvil.ts'
import { freePort } from '../free-port.ts'
import { tempDir } from '../test-helpers.ts'
import { writeChainFile } from './chain-file.ts'
import { checkRewards, rewardRateFromEnv, rewardsFromEnv } from './config.ts'
import { loadOrCreateRewardKey } from './reward-key.ts'
import type { RewardsConfig } from './vouchers.ts'

const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const CHAIN_ENV = { MESHWORK_CHAIN_RPC: 'http://127.0.0.1:8545', MESHWORK_CHAIN_ID: '31337', MESHWORK_REWARD_CONTRACT: CONTRACT }
const KEY = generatePrivateKey()

const dirs: Array<() => void> = []
function dataDir(): string {
  const { dir, remove } = tempDir()
  dirs.push(remove)
  return dir
}
afterEach(() => {
  for (const remove of dirs.splice(0)) remove()
})

describe('rewardsFromEnv', () => {
  it('is off with MESHWORK_REWARDS=off, even with a chain configured', async () => {
    const { rewards, notes } = await rewardsFromEnv({ ...CHAIN_ENV, MESHWORK_REWARDS: 'off' }, dataDir())
    expect(rewards).toBeUndefined()
    expect(notes.join('\n')).toMatch(/off/)
  })

  it('says how to configure rewards when there is no chain, and writes nothing', async () => {
    const dir = dataDir()
    const { rewards, notes } = await rewardsFromEnv({}, dir)
    expect(rewards).toBeUndefined()
    expect(notes.join('\n')).toMatch(/not configured.*npm run chain.*MESHWORK_CHAIN_RPC/)
    expect(fs.readdirSync(dir)).toEqual([])
    await expect(rewardsFromEnv({ MESHWORK_REWARDS: 'on' }, dir)).rejects.toThrow(/MESHWORK_REWARDS is on but no chain/)
  })

  it('reads the chain from the environment, checksums the contract and takes the key from MESHWORK_REWARD_KEY', async () => {
    const dir = dataDir()
    const { rewards, notes } = await rewardsFromEnv(
      { ...CHAIN_ENV, MESHWORK_REWARD_CONTRACT: CONTRACT.toLowerCase(), MESHWORK_REWARD_KEY: KEY },
      dir,
    )
    expect(rewards).toEqual({ chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', contract: CONTRACT, rewardKey: KEY, weiPerCredit: 10n ** 18n })
    expect(notes).toEqual([])
    expect(fs.existsSync(path.join(dir, 'reward-key'))).toBe(false)
  })

  it('names the variable that is missing or wrong', async () => {
    const dir = dataDir()
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ MESHWORK_CHAIN_RPC: 'http://127.0.0.1:8545' }, /MESHWORK_CHAIN_ID and MESHWORK_REWARD_CONTRACT must be set too/],
      [{ ...CHAIN_ENV, MESHWORK_CHAIN_ID: '' }, /^MESHWORK_CHAIN_ID must be set too/],
      [{ ...CHAIN_ENV, MESHWORK_CHAIN_RPC: 'ws://127.0.0.1:8545' }, /MESHWORK_CHAIN_RPC must be an http\(s\) JSON-RPC URL/],
      [{ ...CHAIN_ENV, MESHWORK_CHAIN_ID: '0' }, /MESHWORK_CHAIN_ID must be an integer from 1/],
      [{ ...CHAIN_ENV, MESHWORK_CHAIN_ID: 'mainnet' }, /MESHWORK_CHAIN_ID must be an integer/],
      [{ ...CHAIN_ENV, MESHWORK_REWARD_CONTRACT: '0x1234' }, /MESHWORK_REWARD_CONTRACT must be the MeshworkReward contract address/],
      // a mixed-case address with a wrong checksum is a typo, not an address
      [{ ...CHAIN_ENV, MESHWORK_REWARD_CONTRACT: CONTRACT.replace('5FbDB', '5fBDB') }, /MESHWORK_REWARD_CONTRACT must be/],
      [{ ...CHAIN_ENV, MESHWORK_REWARD_KEY: '0x1234' }, /MESHWORK_REWARD_KEY must be a secp256k1 private key/],
      [{ ...CHAIN_ENV, MESHWORK_REWARD_RATE: 'lots' }, /MESHWORK_REWARD_RATE must be a positive decimal/],
      [{ MESHWORK_REWARDS: 'maybe' }, /MESHWORK_REWARDS must be "on" or "off"/],
    ]
    for (const [env, message] of cases) await expect(rewardsFromEnv(env, dir), JSON.stringify(env)).rejects.toThrow(message)
  })

  it('never repeats a malformed reward key in its error', async () => {
    const secretish = `0x${'ab'.repeat(31)}zz`
    const error = await rewardsFromEnv({ ...CHAIN_ENV, MESHWORK_REWARD_KEY: secretish }, dataDir()).catch((e: Error) => e)
    expect(String(error)).toMatch(/MESHWORK_REWARD_KEY/)
    expect(String(error)).not.toContain('abab')
  })

  it('reads DATA_DIR/chain.json from `npm run chain`, with the key it generates there once (mode 600)', async () => {
    const dir = dataDir()
    await writeChainFile(dir, { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', contract: CONTRACT })
    const first = await rewardsFromEnv({}, dir)
    const keyFile = path.join(dir, 'reward-key')
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
    const key = fs.readFileSync(keyFile, 'utf8').trim() as Hex
    expect(first.rewards).toEqual({ chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', contract: CONTRACT, rewardKey: key, weiPerCredit: 10n ** 18n })
    expect(first.notes.join('\n')).toContain(`Rewards: using a reward key generated into ${keyFile} — fine for local development`)
    expect(first.notes.join('\n')).toContain('MESHWORK_REWARD_KEY from a secret store in production')

    const second = await rewardsFromEnv({}, dir)
    expect(second.rewards?.rewardKey).toBe(key)
    expect(second.notes.join('\n')).toContain(`using a reward key from ${keyFile}`)
    expect(await loadOrCreateRewardKey(dir)).toEqual({ key, path: keyFile, created: false })
  })

  it('lets the environment override chain.json', async () => {
    const dir = dataDir()
    await writeChainFile(dir, { chainId: 5, rpcUrl: 'http://127.0.0.1:1', contract: CONTRACT })
    const { rewards } = await rewardsFromEnv({ ...CHAIN_ENV, MESHWORK_CHAIN_ID: '7', MESHWORK_REWARD_KEY: KEY }, dir)
    expect(rewards).toMatchObject({ chainId: 7, rpcUrl: 'http://127.0.0.1:8545' })
  })

  it('names a malformed chain.json', async () => {
    const dir = dataDir()
    const file = path.join(dir, 'chain.json')
    fs.writeFileSync(file, '{"chainId": 31337,')
    await expect(rewardsFromEnv({}, dir)).rejects.toThrow(`${file} is not valid JSON`)
    fs.writeFileSync(file, JSON.stringify({ chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', contract: 'nope' }))
    await expect(rewardsFromEnv({}, dir)).rejects.toThrow(new RegExp(`${file} must hold .*contract: must be a 0x-prefixed 20-byte address`))
  })

  it('names a reward-key file that holds no key', async () => {
    const dir = dataDir()
    await writeChainFile(dir, { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', contract: CONTRACT })
    fs.writeFileSync(path.join(dir, 'reward-key'), 'hunter2\n')
    await expect(rewardsFromEnv({}, dir)).rejects.toThrow(`${path.join(dir, 'reward-key')} must hold a reward key`)
  })
})

describe('rewardRateFromEnv', () => {
  it('converts MESH per credit to base units', () => {
    expect(rewardRateFromEnv({})).toBe(10n ** 18n)
    expect(rewardRateFromEnv({ MESHWORK_REWARD_RATE: '0.5' })).toBe(5n * 10n ** 17n)
    expect(rewardRateFromEnv({ MESHWORK_REWARD_RATE: ' 2 ' })).toBe(2n * 10n ** 18n)
    expect(rewardRateFromEnv({ MESHWORK_REWARD_RATE: '0.000000000000000001' })).toBe(1n)
  })

  it('rejects negative, zero, garbage and more precision than MESH has', () => {
    for (const rate of ['-1', '0', '0.0', '1e18', 'abc', '1.', '1,5', '0.0000000000000000001']) {
      expect(() => rewardRateFromEnv({ MESHWORK_REWARD_RATE: rate }), rate).toThrow(/^MESHWORK_REWARD_RATE must be/)
    }
    expect(() => rewardRateFromEnv({ MESHWORK_REWARD_RATE: '0' })).toThrow(/MESHWORK_REWARDS=off/)
  })
})

describe('checkRewards on a real chain', () => {
  const rewardKey = generatePrivateKey()
  let anvil: Anvil
  let contract: Address
  let rewards: RewardsConfig

  beforeAll(async () => {
    anvil = await startAnvil()
    const client = createTestClient({
      chain: foundry,
      mode: 'anvil',
      account: privateKeyToAccount(ANVIL_DEV_KEY),
      transport: http(anvil.url, { retryCount: 0 }),
    })
      .extend(publicActions)
      .extend(walletActions)
    contract = await deployReward(client, privateKeyToAccount(rewardKey).address)
    rewards = { chainId: anvil.chainId, rpcUrl: anvil.url, contract, rewardKey, weiPerCredit: 5n * 10n ** 17n }
  })

  afterAll(async () => {
    await anvil?.stop()
  })

  it('accepts the contract deployed for the reward key and says what the hub runs with', async () => {
    expect(await checkRewards(rewards)).toEqual({
      status: 'ok',
      note: `Rewards: MESH at ${contract} on chain 31337 (${anvil.url}), 0.5 MESH per credit, vouchers signed by ${privateKeyToAccount(rewardKey).address}.`,
    })
  })

  it('refuses a contract that takes vouchers from another signer', async () => {
    const other = generatePrivateKey()
    await expect(checkRewards({ ...rewards, rewardKey: other })).rejects.toThrow(
      `accepts vouchers signed by ${privateKeyToAccount(rewardKey).address}, but the hub's reward key is ${privateKeyToAccount(other).address}`,
    )
  })

  it('refuses a chain whose id differs from the configured one', async () => {
    await expect(checkRewards({ ...rewards, chainId: 1 })).rejects.toThrow(`Rewards are configured for chain 1, but ${anvil.url} is chain 31337`)
  })

  it('notes a contract address with no code (a local chain restarted without its state)', async () => {
    const result = await checkRewards({ ...rewards, contract: privateKeyToAccount(generatePrivateKey()).address })
    expect(result.status).toBe('no-contract')
    expect(result.note).toMatch(/no contract at 0x[0-9a-fA-F]{40} on chain 31337.*npm run chain/)
  })

  it('refuses an address whose code is not a MeshworkReward contract', async () => {
    const client = createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.url, { retryCount: 0 }) })
    const address = privateKeyToAccount(generatePrivateKey()).address
    await client.setCode({ address, bytecode: '0x00' }) // STOP: answers every call with nothing
    await expect(checkRewards({ ...rewards, contract: address })).rejects.toThrow(/does not answer voucherSigner\(\)/)
  })

  it('notes a chain that does not answer, so the hub still starts', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const result = await checkRewards({ ...rewards, rpcUrl: url })
    expect(result.status).toBe('unreachable')
    expect(result.note).toContain(`the chain at ${url} does not answer (HTTP request failed: ECONNREFUSED)`)
  })
})
