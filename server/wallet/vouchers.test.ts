/**
 * Vouchers end to end on a real chain: anvil, the MeshworkReward contract deployed with the hub's reward key, a hub
 * that credits verified work, a volunteer who signs in with a wallet and claims on chain what the hub signs.
 */
import { createTestClient, http, publicActions, walletActions, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { createSiweMessage } from 'viem/siwe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployReward, startAnvil, type Anvil } from '../../contracts/anvil.ts'
import { meshworkRewardAbi } from '../../contracts/index.ts'
import { SESSION_HEADER, type RewardsInfo, type RewardVoucher, type SiweNonce, type WalletSession } from '../../protocol/wallet.ts'
import { startTestHub, Volunteer, waitFor, type TestHub } from '../test-helpers.ts'

const submitter = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const rewardKey = generatePrivateKey()
const wallet = privateKeyToAccount(generatePrivateKey())
/** 1 MESH (1e18 base units) per credit (1 GFLOP). */
const WEI_PER_CREDIT = 10n ** 18n

let anvil: Anvil
let t: TestHub
let contract: Address
let chain: ReturnType<typeof client>

function client(url: string) {
  return createTestClient({ chain: foundry, mode: 'anvil', account: submitter, transport: http(url, { retryCount: 0 }) })
    .extend(publicActions)
    .extend(walletActions)
}

beforeAll(async () => {
  anvil = await startAnvil()
  chain = client(anvil.url)
  contract = await deployReward(chain, privateKeyToAccount(rewardKey).address)
  t = await startTestHub({ rewards: { chainId: anvil.chainId, rpcUrl: anvil.url, contract, rewardKey, weiPerCredit: WEI_PER_CREDIT } })
})

afterAll(async () => {
  await t?.close()
  await anvil?.stop()
})

async function signIn(volunteer: Volunteer): Promise<string> {
  const { nonce } = (await (await fetch(`${t.url}/api/v1/auth/nonce`)).json()) as SiweNonce
  const url = new URL(t.url)
  const message = createSiweMessage({
    address: wallet.address,
    chainId: anvil.chainId,
    domain: url.host,
    uri: url.origin,
    version: '1',
    nonce,
    expirationTime: new Date(Date.now() + 600_000),
  })
  const response = await volunteer.request('POST', '/auth/siwe', { message, signature: await wallet.signMessage({ message }) })
  expect(response.status).toBe(200)
  return ((await response.json()) as WalletSession).token
}

const voucher = (token?: string) =>
  fetch(`${t.url}/api/v1/wallet/voucher`, { method: 'POST', headers: token ? { [SESSION_HEADER]: token } : {} })

describe('reward vouchers', () => {
  it('publishes the chain, contract and rate', async () => {
    const info = (await (await fetch(`${t.url}/api/v1/rewards`)).json()) as RewardsInfo
    expect(info).toEqual({ enabled: true, chainId: anvil.chainId, contract, rpcUrl: anvil.url, weiPerCredit: WEI_PER_CREDIT.toString() })
  })

  it('signs no voucher without a session', async () => {
    expect((await voucher()).status).toBe(401)
    expect((await voucher('not-a-session')).status).toBe(401)
  })

  it('pays on chain exactly the verified credit times the rate, and a second claim only the new credit', async () => {
    await t.createMatmulJob({ m: 64, n: 64, k: 64, tile: 32, seed: 81 })
    const volunteer = await Volunteer.create(t.url)
    // Work done before signing in counts: the sign-in links the device.
    const [first] = await volunteer.lease(1)
    expect((await volunteer.submit(first.unitId, await volunteer.compute(first))).status).toBe(200)
    await waitFor(async () => (await (await volunteer.request('GET', '/volunteer/summary')).json()).creditFlops === 2 * 32 * 32 * 64, 'credit')
    const token = await signIn(volunteer)

    const claim = async () => {
      const v = (await (await voucher(token)).json()) as RewardVoucher
      const hash = await chain.writeContract({
        address: contract,
        abi: meshworkRewardAbi,
        functionName: 'claim',
        args: [v.account as Address, BigInt(v.cumulativeAmount), BigInt(v.deadline), v.signature as Hex],
      })
      expect((await chain.waitForTransactionReceipt({ hash })).status).toBe('success')
      return v
    }
    const balance = () => chain.readContract({ address: contract, abi: meshworkRewardAbi, functionName: 'balanceOf', args: [wallet.address] })

    const v1 = await claim()
    expect(v1.creditFlops).toBe(2 * 32 * 32 * 64)
    // 131,072 flops = 0.000131072 credit = 131,072e9 base units.
    expect(await balance()).toBe((BigInt(v1.creditFlops) * WEI_PER_CREDIT) / 10n ** 9n)

    const [second] = await volunteer.lease(1)
    expect((await volunteer.submit(second.unitId, await volunteer.compute(second))).status).toBe(200)
    await waitFor(async () => (await (await volunteer.request('GET', '/volunteer/summary')).json()).creditFlops === 2 * 2 * 32 * 32 * 64, 'more credit')
    const v2 = await claim()
    expect(BigInt(v2.cumulativeAmount)).toBe(2n * BigInt(v1.cumulativeAmount))
    expect(await balance()).toBe(BigInt(v2.cumulativeAmount))
  })

  it('keeps a device with the wallet it was first linked to', async () => {
    const volunteer = await Volunteer.create(t.url)
    await signIn(volunteer)
    const other = privateKeyToAccount(generatePrivateKey())
    const { nonce } = (await (await fetch(`${t.url}/api/v1/auth/nonce`)).json()) as SiweNonce
    const url = new URL(t.url)
    const message = createSiweMessage({ address: other.address, chainId: 1, domain: url.host, uri: url.origin, version: '1', nonce, expirationTime: new Date(Date.now() + 60_000) })
    const response = await volunteer.request('POST', '/auth/siwe', { message, signature: await other.signMessage({ message }) })
    expect(response.status).toBe(409)
    expect(await response.json()).toMatchObject({ code: 'conflict', message: expect.stringMatching(/already linked to another wallet/) })
  })
})
