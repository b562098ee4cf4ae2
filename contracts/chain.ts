/**
 * `npm run chain`: a local chain for trying rewards. Runs anvil in the foreground with its state in DATA_DIR (so
 * balances and the contract survive restarts), deploys MeshworkReward with the hub's reward key as voucher signer (or
 * reuses the one from last time) and writes DATA_DIR/chain.json, which the hub reads at start. Reads DATA_DIR
 * (./data), MESHWORK_CHAIN_PORT (8545), MESHWORK_CHAIN_ID (31337) and MESHWORK_REWARD_KEY (unset: DATA_DIR/reward-key).
 */
import path from 'node:path'
import { createWalletClient, defineChain, getAddress, http, publicActions, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { readChainFile, writeChainFile, type ChainFile } from '../server/wallet/chain-file.ts'
import { chainIdFromEnv, integerFromEnv, rewardKeyFromEnv } from '../server/wallet/config.ts'
import { stopOnSignals } from '../server/shutdown.ts'
import { loadOrCreateRewardKey } from '../server/wallet/reward-key.ts'
import { ANVIL_DEV_KEY, AnvilError, deployReward, startAnvil, type Anvil } from './anvil.ts'
import { meshworkRewardAbi } from './generated/MeshworkReward.ts'

/** How often anvil writes its state, in seconds, so a crash loses at most this much. */
const STATE_INTERVAL_S = 5

function clientFor(url: string, chainId: number) {
  const chain = defineChain({ ...foundry, id: chainId, rpcUrls: { default: { http: [url] } } })
  return createWalletClient({ chain, account: privateKeyToAccount(ANVIL_DEV_KEY), transport: http(url, { retryCount: 0 }) }).extend(
    publicActions,
  )
}

/** The contract from chain.json when it is on this chain and takes vouchers from `signer`; else undefined. */
async function reusableContract(client: ReturnType<typeof clientFor>, dataDir: string, chainId: number, signer: Address) {
  let previous: ChainFile | undefined
  try {
    previous = await readChainFile(dataDir)
  } catch (error) {
    console.log(`${(error as Error).message}\nDeploying a new contract; the file is written again.`)
    return undefined
  }
  if (!previous || previous.chainId !== chainId) return undefined
  const code = await client.getCode({ address: previous.contract })
  if (!code || code === '0x') {
    console.log(`The contract ${previous.contract} from chain.json is not on this chain (its state was lost); deploying a new one.`)
    return undefined
  }
  try {
    const current = await client.readContract({ address: previous.contract, abi: meshworkRewardAbi, functionName: 'voucherSigner' })
    if (getAddress(current) === signer) return previous.contract
    console.log(`The contract ${previous.contract} takes vouchers from ${current}, not from the reward key ${signer}; deploying a new one.`)
  } catch {
    console.log(`${previous.contract} from chain.json is not a MeshworkReward contract; deploying a new one.`)
  }
  return undefined
}

async function main(): Promise<void> {
  const env = process.env
  const dataDir = path.resolve(env.DATA_DIR?.trim() || './data')
  const port = integerFromEnv(env, 'MESHWORK_CHAIN_PORT', 8545, 1, 65535)
  const chainId = chainIdFromEnv(env)
  const envKey = rewardKeyFromEnv(env)
  const statePath = path.join(dataDir, 'anvil-state.json')

  let anvil: Anvil
  try {
    anvil = await startAnvil({
      port,
      chainId,
      args: ['--state', statePath, '--state-interval', String(STATE_INTERVAL_S)],
      timeoutMs: 30_000,
    })
  } catch (error) {
    console.error(error instanceof AnvilError ? error.message : error)
    process.exit(1)
  }

  const { isStopping } = stopOnSignals(`stopping anvil (it writes its state to ${statePath})`, () => anvil.stop())
  let failed = false
  anvil.process.once('exit', (code, signal) => {
    if (isStopping() || failed) return
    // Ctrl-C reaches anvil too (same process group); it may exit, state saved, before our own handler runs.
    if (code === 0) {
      console.log(`anvil stopped; its state is in ${statePath}.`)
      process.exit(0)
    }
    console.error(`anvil exited on its own (${signal ?? `code ${code}`}); stopping.`)
    process.exit(1)
  })

  try {
    let rewardKey: Hex
    let keyNote: string
    if (envKey) {
      rewardKey = envKey
      keyNote = 'from MESHWORK_REWARD_KEY'
    } else {
      const stored = await loadOrCreateRewardKey(dataDir)
      rewardKey = stored.key
      keyNote = `${stored.created ? 'generated into' : 'from'} ${stored.path}`
    }
    const signer = privateKeyToAccount(rewardKey).address
    const client = clientFor(anvil.url, chainId)
    let contract = await reusableContract(client, dataDir, chainId, signer)
    const reused = contract !== undefined
    contract ??= await deployReward(client, signer)
    const chainFile = await writeChainFile(dataDir, { chainId, rpcUrl: anvil.url, contract })

    console.log(
      [
        `Local chain (anvil) ready; its state is kept in ${statePath}.`,
        `  RPC URL:        ${anvil.url}`,
        `  Chain id:       ${chainId}`,
        `  MESH contract:  ${contract} (${reused ? 'the one deployed before' : 'deployed just now'})`,
        `  Reward signer:  ${signer} (key ${keyNote})`,
        `  Written:        ${chainFile}`,
        'Start the hub with `npm start` (or `npm run hub`) in another terminal; it picks this up.',
        `anvil's dev accounts are funded test accounts whose keys are public (account 0: ${privateKeyToAccount(ANVIL_DEV_KEY).address},`,
        `key ${ANVIL_DEV_KEY}); import one into a browser wallet to test claims, and never send real funds to them.`,
        'Ctrl-C stops the chain (its state is saved).',
      ].join('\n'),
    )
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    failed = true
    await anvil.stop()
    process.exit(1)
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
