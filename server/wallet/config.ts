/**
 * Token rewards configuration the hub reads at start, and a check of it against the chain. Variables:
 * - MESHWORK_REWARDS: unset (rewards when a chain is configured), `on` (a chain must be configured) or `off`.
 * - MESHWORK_CHAIN_RPC (http(s) URL), MESHWORK_CHAIN_ID (positive integer), MESHWORK_REWARD_CONTRACT (0x address):
 *   the chain and the MeshworkReward contract, all three together. Unset: DATA_DIR/chain.json from `npm run chain`.
 * - MESHWORK_REWARD_RATE: MESH per credit (1 GFLOP of verified work) as a decimal. @default "1"
 * - MESHWORK_REWARD_KEY: the voucher signing key, 0x and 64 hex digits. Unset: DATA_DIR/reward-key, generated when
 *   missing, which suits a local chain only.
 */
import {
  BaseError,
  createPublicClient,
  formatUnits,
  getAddress,
  http,
  HttpRequestError,
  isAddress,
  parseUnits,
  TimeoutError,
  type Address,
  type Hex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { meshworkRewardAbi } from '../../contracts/index.ts'
import { chainFilePath, readChainFile, type ChainFile } from './chain-file.ts'
import { isPrivateKeyHex, loadOrCreateRewardKey } from './reward-key.ts'
import type { RewardsConfig } from './vouchers.ts'

type Env = Record<string, string | undefined>

/** MESH has 18 decimals. */
const TOKEN_DECIMALS = 18
const CHAIN_VARS = ['MESHWORK_CHAIN_RPC', 'MESHWORK_CHAIN_ID', 'MESHWORK_REWARD_CONTRACT'] as const

function fail(name: string, expected: string, got: string): never {
  throw new Error(`${name} must be ${expected}, got "${got}".`)
}

/** An integer variable from `min` to `max`, or `fallback` when unset or empty. */
export function integerFromEnv(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim()
  if (!text) return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) fail(name, `an integer from ${min} to ${max}`, text)
  return value
}

/** MESHWORK_CHAIN_ID, the chain id from the environment. @default 31337 (anvil's) */
export function chainIdFromEnv(env: Env, fallback = 31337): number {
  return integerFromEnv(env, 'MESHWORK_CHAIN_ID', fallback, 1, Number.MAX_SAFE_INTEGER)
}

/** MESHWORK_REWARDS: 'auto' when unset. */
function rewardsMode(env: Env): 'auto' | 'on' | 'off' {
  const text = env.MESHWORK_REWARDS?.trim().toLowerCase()
  if (!text) return 'auto'
  if (['on', 'true', '1', 'yes'].includes(text)) return 'on'
  if (['off', 'false', '0', 'no'].includes(text)) return 'off'
  return fail('MESHWORK_REWARDS', '"on" or "off" (or unset: on when a chain is configured)', text)
}

/** MESHWORK_CHAIN_RPC, MESHWORK_CHAIN_ID and MESHWORK_REWARD_CONTRACT, or undefined when none is set. */
export function chainFromEnv(env: Env): ChainFile | undefined {
  const set = CHAIN_VARS.filter((name) => env[name]?.trim())
  if (set.length === 0) return undefined
  const missing = CHAIN_VARS.filter((name) => !env[name]?.trim())
  if (missing.length) {
    throw new Error(
      `${missing.join(' and ')} must be set too: MESHWORK_CHAIN_RPC, MESHWORK_CHAIN_ID and MESHWORK_REWARD_CONTRACT ` +
        `configure the chain together (only ${set.join(' and ')} ${set.length === 1 ? 'is' : 'are'} set).`,
    )
  }
  const rpcText = env.MESHWORK_CHAIN_RPC!.trim()
  let rpc: URL | undefined
  try {
    rpc = new URL(rpcText)
  } catch {
    rpc = undefined
  }
  if (!rpc || (rpc.protocol !== 'http:' && rpc.protocol !== 'https:')) {
    fail('MESHWORK_CHAIN_RPC', 'an http(s) JSON-RPC URL such as http://127.0.0.1:8545', rpcText)
  }
  const contract = env.MESHWORK_REWARD_CONTRACT!.trim()
  if (!isAddress(contract)) {
    fail('MESHWORK_REWARD_CONTRACT', 'the MeshworkReward contract address: 0x and 40 hex digits (a valid checksum if mixed-case)', contract)
  }
  return { rpcUrl: rpcText, chainId: chainIdFromEnv(env), contract: getAddress(contract) }
}

/** MESHWORK_REWARD_RATE (MESH per credit, a decimal; @default "1") in token base units per credit. */
export function rewardRateFromEnv(env: Env): bigint {
  const text = env.MESHWORK_REWARD_RATE?.trim() || '1'
  const expected = 'a positive decimal number of MESH per credit (1 GFLOP of verified work), such as 1 or 0.5'
  if (!/^(\d+(\.\d+)?|\.\d+)$/.test(text)) fail('MESHWORK_REWARD_RATE', expected, text)
  if ((text.split('.')[1]?.length ?? 0) > TOKEN_DECIMALS) {
    fail('MESHWORK_REWARD_RATE', `${expected}, with at most ${TOKEN_DECIMALS} decimals (MESH has ${TOKEN_DECIMALS})`, text)
  }
  const wei = parseUnits(text, TOKEN_DECIMALS)
  if (wei === 0n) fail('MESHWORK_REWARD_RATE', `${expected} (to turn rewards off, set MESHWORK_REWARDS=off)`, text)
  return wei
}

/** MESHWORK_REWARD_KEY, or undefined when unset. The message never repeats the value: it is a secret. */
export function rewardKeyFromEnv(env: Env): Hex | undefined {
  const text = env.MESHWORK_REWARD_KEY?.trim()
  if (!text) return undefined
  const valid = isPrivateKeyHex(text) && canSign(text)
  if (!valid) {
    throw new Error(
      `MESHWORK_REWARD_KEY must be a secp256k1 private key: 0x and 64 hex digits (got ${text.length} characters, not shown).`,
    )
  }
  return text
}

function canSign(key: Hex): boolean {
  try {
    privateKeyToAccount(key)
    return true
  } catch {
    return false
  }
}

export interface RewardsFromEnvReturnType {
  /** Undefined: rewards are off or not configured. */
  rewards?: RewardsConfig
  /** Lines for the operator: where the settings came from, warnings. */
  notes: string[]
}

/**
 * The hub's rewards from the environment, else from DATA_DIR/chain.json and DATA_DIR/reward-key (see the variables
 * above). Errors name the variable or file and what it should hold. Nothing is read from the chain here: see
 * `checkRewards`.
 */
export async function rewardsFromEnv(env: Env, dataDir: string): Promise<RewardsFromEnvReturnType> {
  const mode = rewardsMode(env)
  if (mode === 'off') return { notes: ['Rewards: off (MESHWORK_REWARDS=off).'] }
  // Every variable is checked before the chain is looked for, so a typo shows up even while no chain is configured.
  const fromEnv = chainFromEnv(env)
  const weiPerCredit = rewardRateFromEnv(env)
  const envKey = rewardKeyFromEnv(env)
  const notes: string[] = []
  const chain = fromEnv ?? (await readChainFile(dataDir))
  if (!chain) {
    const how = 'run `npm run chain` for a local chain, or set MESHWORK_CHAIN_RPC, MESHWORK_CHAIN_ID and MESHWORK_REWARD_CONTRACT'
    if (mode === 'on') throw new Error(`MESHWORK_REWARDS is on but no chain is configured: ${how}.`)
    return { notes: [`Rewards: not configured (${how}).`] }
  }
  if (!fromEnv) notes.push(`Rewards: chain and contract from ${chainFilePath(dataDir)} (written by \`npm run chain\`).`)
  let rewardKey = envKey
  if (!rewardKey) {
    const stored = await loadOrCreateRewardKey(dataDir)
    rewardKey = stored.key
    notes.push(
      `Rewards: using a reward key ${stored.created ? 'generated into' : 'from'} ${stored.path} — fine for local development; ` +
        'set MESHWORK_REWARD_KEY from a secret store in production.',
    )
  }
  return { rewards: { ...chain, rewardKey, weiPerCredit }, notes }
}

export interface CheckRewardsOptions {
  /** How long to wait for each answer from the chain. @default 3000 */
  timeoutMs?: number
}

export interface CheckRewardsReturnType {
  /** `unreachable`: the chain did not answer; `no-contract`: nothing is deployed at the address. */
  status: 'ok' | 'unreachable' | 'no-contract'
  /** A line for the operator. */
  note: string
}

function unreachable(error: unknown): boolean {
  return error instanceof BaseError && Boolean(error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError))
}

/** viem's short message, plus the system error code underneath (ECONNREFUSED) when there is one. */
function describe(error: unknown): string {
  let systemCode: string | undefined
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const { code } = e as { code?: unknown }
    if (typeof code === 'string') systemCode = code
  }
  if (!(error instanceof BaseError)) return error instanceof Error ? error.message : String(error)
  if (systemCode) return `${error.shortMessage.replace(/\.$/, '')}: ${systemCode}`
  return [error.shortMessage, error.details].filter(Boolean).join(' ')
}

/**
 * Checks the configured contract on its chain: it must be there and accept vouchers from the reward key. A chain that
 * does not answer or a missing contract is a note (the hub still starts and signs; the chain may come up later); a
 * contract with another signer, or a chain with another id, throws, since every voucher would be rejected.
 */
export async function checkRewards(rewards: RewardsConfig, options: CheckRewardsOptions = {}): Promise<CheckRewardsReturnType> {
  const { timeoutMs = 3000 } = options
  const { rpcUrl, chainId, contract } = rewards
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0, timeout: timeoutMs }) })
  const down = (error: unknown): CheckRewardsReturnType => ({
    status: 'unreachable',
    note:
      `Rewards: warning: the chain at ${rpcUrl} does not answer (${describe(error)}). The hub starts anyway and signs ` +
      'vouchers, but nobody can claim them until the chain is up (for a local chain: `npm run chain`).',
  })
  let actualChainId: number
  let code: Hex | undefined
  try {
    actualChainId = await client.getChainId()
    code = await client.getCode({ address: contract })
  } catch (error) {
    if (unreachable(error)) return down(error)
    throw error
  }
  if (actualChainId !== chainId) {
    throw new Error(
      `Rewards are configured for chain ${chainId}, but ${rpcUrl} is chain ${actualChainId}: vouchers would name the wrong ` +
        'chain. Fix MESHWORK_CHAIN_ID or MESHWORK_CHAIN_RPC (or run `npm run chain` again for a local chain).',
    )
  }
  if (!code || code === '0x') {
    return {
      status: 'no-contract',
      note:
        `Rewards: warning: there is no contract at ${contract} on chain ${chainId} (${rpcUrl}), so vouchers cannot be ` +
        'claimed. A local chain restarted without its state loses it: run `npm run chain` (it deploys again and updates ' +
        'chain.json), then restart the hub. Otherwise check MESHWORK_REWARD_CONTRACT.',
    }
  }
  let signer: Address
  try {
    signer = await client.readContract({ address: contract, abi: meshworkRewardAbi, functionName: 'voucherSigner' })
  } catch (error) {
    if (unreachable(error)) return down(error)
    throw new Error(
      `The contract at ${contract} on chain ${chainId} does not answer voucherSigner(), so it is not a MeshworkReward ` +
        'contract. Check MESHWORK_REWARD_CONTRACT (or run `npm run chain` for a local chain).',
      { cause: error },
    )
  }
  const keyAddress = privateKeyToAccount(rewards.rewardKey).address
  if (getAddress(signer) !== keyAddress) {
    throw new Error(
      `The reward contract ${contract} on chain ${chainId} accepts vouchers signed by ${getAddress(signer)}, but the hub's ` +
        `reward key is ${keyAddress}, so the contract would reject every voucher. Set MESHWORK_REWARD_KEY to the key the ` +
        'contract was deployed with, or deploy a contract for this key (for a local chain: `npm run chain`).',
    )
  }
  const rate = formatUnits(rewards.weiPerCredit, TOKEN_DECIMALS)
  return {
    status: 'ok',
    note: `Rewards: MESH at ${contract} on chain ${chainId} (${rpcUrl}), ${rate} MESH per credit, vouchers signed by ${keyAddress}.`,
  }
}
