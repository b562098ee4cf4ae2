/**
 * The Wallet page end to end: a real hub, a real local chain started by `npm run chain`'s script with the reward
 * contract deployed, and a test wallet injected into Chromium (see test-wallet.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { meshworkRewardAbi } from '../contracts/index.ts'
import { startChain, type Chain } from './chain.ts'
import { count, expect, startHub, test, type Hub } from './hub.ts'
import { installTestWallet } from './test-wallet.ts'

/** anvil's second funded development account (the first deploys the contract). */
const VOLUNTEER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
/** 4 units of 2·128·128·256 flops. */
const DEMO = { m: 256, n: 256, k: 256, tile: 128 }
const JOB_FLOPS = 2 * DEMO.m * DEMO.n * DEMO.k
/** MESH per credit (1 GFLOP) on the test hub. */
const RATE = 2n

test.describe('with a local chain', () => {
  let dir: string
  let chain: Chain
  let hub: Hub

  test.beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshwork-wallet-'))
    chain = await startChain(dir)
    hub = await startHub({ ...DEMO, inputs: { kind: 'random', seed: 11 } }, dir, { MESHWORK_REWARD_RATE: String(RATE) })
  })

  test.afterEach(async () => {
    await hub?.stop()
    await chain?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('connect, switch chain, sign in, contribute, claim: the on-chain balance is the verified credit times the rate', async ({ page }) => {
    // The wallet starts on Ethereum mainnet, as a real one usually does; two announced wallets are both offered.
    const wallet = await installTestWallet(page, {
      privateKey: VOLUNTEER_KEY,
      rpcUrl: chain.rpcUrl,
      rpcChainId: chain.chainId,
      startChainId: 1,
      names: ['Meshwork Test Wallet', 'Second Test Wallet'],
    })
    await page.goto(`${hub.url}/#/wallet`)
    await expect(page.getByTestId('rate')).toContainText('1 GFLOP of verified work pays 2 MESH')
    await expect(page.getByRole('button', { name: /^Connect / })).toHaveCount(2)
    await page.getByRole('button', { name: 'Connect Meshwork Test Wallet' }).click()
    await expect(page.getByTestId('wallet-account')).toHaveAttribute('data-address', wallet.address)

    // Wrong chain: the page asks to switch before anything else.
    await expect(page.getByTestId('wrong-chain')).toContainText('Your wallet is on chain 1')
    await expect(page.getByRole('button', { name: 'Sign in with Ethereum' })).toHaveCount(0)
    await page.getByRole('button', { name: /^Switch to / }).click()
    await expect(page.getByTestId('wrong-chain')).toHaveCount(0)

    // A declined signature is named as such and changes nothing; signing again works.
    wallet.declineNext('personal_sign')
    await page.getByRole('button', { name: 'Sign in with Ethereum' }).click()
    await expect(page.getByTestId('wallet-error')).toHaveText('You declined the request in your wallet. Nothing was signed or sent.')
    await page.getByRole('button', { name: 'Sign in with Ethereum' }).click()
    await expect(page.getByTestId('wallet-credit')).toHaveAttribute('data-flops', '0')
    await expect(page.getByTestId('wallet-error')).toHaveCount(0)
    await expect(page.getByRole('button', { name: /^Claim/ })).toBeDisabled()

    // Contribute until every unit of the job is verified.
    await page.getByRole('link', { name: 'Contribute' }).click()
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect.poll(() => count(page, 'count-verified'), { timeout: 90_000 }).toBe(4)
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect(page.getByTestId('credit')).toHaveAttribute('data-flops', String(JOB_FLOPS))

    // Back on the Wallet page: the unclaimed amount is the credit times the rate, exactly.
    const expected = (BigInt(JOB_FLOPS) * RATE * 10n ** 18n) / 10n ** 9n
    await page.getByRole('link', { name: 'Wallet' }).click()
    await expect(page.getByTestId('wallet-credit')).toHaveAttribute('data-flops', String(JOB_FLOPS))
    await expect(page.getByTestId('unclaimed')).toHaveAttribute('data-wei', expected.toString())
    await expect(page.getByTestId('balance')).toHaveAttribute('data-wei', '0')

    await page.getByRole('button', { name: /^Claim/ }).click()
    await expect(page.getByTestId('claim-tx')).toHaveAttribute('data-state', 'confirmed')
    await expect(page.getByTestId('claim-tx')).toContainText('Claimed 0.067108 MESH in block')
    await expect(page.getByTestId('balance')).toHaveAttribute('data-wei', expected.toString())
    await expect(page.getByTestId('unclaimed')).toHaveAttribute('data-wei', '0')
    await expect(page.getByRole('button', { name: /^Claim/ })).toBeDisabled()
    expect(wallet.calls.filter((m) => m === 'eth_sendTransaction')).toHaveLength(1)

    // The chain itself agrees.
    const client = createPublicClient({ transport: http(chain.rpcUrl, { retryCount: 0 }) })
    const read = (functionName: 'balanceOf' | 'claimed') =>
      client.readContract({ address: chain.contract, abi: meshworkRewardAbi, functionName, args: [wallet.address] })
    expect(await read('balanceOf')).toBe(expected)
    expect(await read('claimed')).toBe(expected)

    // A reload keeps the connection and the sign-in.
    await page.reload()
    await expect(page.getByTestId('balance')).toHaveAttribute('data-wei', expected.toString())
  })
})

test('without a chain the Wallet page shows credit and says rewards are not configured', async ({ page, hub }) => {
  await page.goto(`${hub.url}/#/wallet`)
  await expect(page.getByTestId('device-credit')).toHaveText('0.000 GFLOP')
  await expect(page.getByTestId('rewards-off')).toContainText('Rewards are not configured on this hub')
  await expect(page.getByRole('button', { name: /^Connect / })).toHaveCount(0)
})

test('with no wallet in the browser the page says so, and contributing needs none', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-wallet-'))
  const chain = await startChain(dir)
  const hub = await startHub({ ...DEMO, inputs: { kind: 'random', seed: 12 } }, dir)
  try {
    await page.goto(`${hub.url}/#/wallet`)
    await expect(page.getByTestId('no-wallet')).toContainText('No browser wallet found')
    await page.getByRole('link', { name: 'Contribute' }).click()
    await page.getByRole('button', { name: 'Contribute' }).click()
    await expect.poll(() => count(page, 'count-verified'), { timeout: 90_000 }).toBeGreaterThanOrEqual(1)
  } finally {
    await hub.stop()
    await chain.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
