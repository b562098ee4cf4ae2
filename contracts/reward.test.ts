import {
  BaseError,
  ContractFunctionRevertedError,
  createTestClient,
  domainSeparator,
  http,
  parseEventLogs,
  parseUnits,
  publicActions,
  walletActions,
  type Address,
  type Hex,
} from 'viem'
import { foundry } from 'viem/chains'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { deployReward, startAnvil, type Anvil } from './anvil.ts'
import { meshworkRewardAbi } from './generated/MeshworkReward.ts'
import { signVoucher, voucherDomain } from './voucher.ts'

// anvil's first default account pays gas; it is only the submitter, never the recipient.
const submitter = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const hubKey = privateKeyToAccount(generatePrivateKey())
const otherKey = privateKeyToAccount(generatePrivateKey())

let anvil: Anvil
let client: ReturnType<typeof makeClient>
let reward: Address
let volunteer: Address
let otherVolunteer: Address

function makeClient(url: string) {
  return createTestClient({ chain: foundry, mode: 'anvil', account: submitter, transport: http(url, { retryCount: 0 }) })
    .extend(publicActions)
    .extend(walletActions)
}

async function deadlineIn(seconds: number): Promise<bigint> {
  const block = await client.getBlock()
  return block.timestamp + BigInt(seconds)
}

async function voucher(cumulativeAmount: bigint, options: { account?: Address; signer?: typeof hubKey; deadline?: bigint } = {}) {
  const account = options.account ?? volunteer
  const deadline = options.deadline ?? (await deadlineIn(3600))
  const signature = await signVoucher(options.signer ?? hubKey, {
    chainId: anvil.chainId,
    contract: reward,
    voucher: { account, cumulativeAmount, deadline },
  })
  return { account, cumulativeAmount, deadline, signature }
}

async function claim(v: { account: Address; cumulativeAmount: bigint; deadline: bigint; signature: Hex }) {
  const args = [v.account, v.cumulativeAmount, v.deadline, v.signature] as const
  // simulate first so a revert surfaces as viem's decoded ContractFunctionRevertedError
  await client.simulateContract({ address: reward, abi: meshworkRewardAbi, functionName: 'claim', args })
  const hash = await client.writeContract({ address: reward, abi: meshworkRewardAbi, functionName: 'claim', args })
  const receipt = await client.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** The custom error's name and args that `promise` reverted with. */
async function revertOf(promise: Promise<unknown>): Promise<{ errorName?: string; args?: readonly unknown[] }> {
  const error = await promise.then(
    () => {
      throw new Error('expected claim to revert, but it succeeded')
    },
    (e: unknown) => e,
  )
  if (!(error instanceof BaseError)) throw error
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError)) throw error
  return { errorName: reverted.data?.errorName, args: reverted.data?.args }
}

function balanceOf(account: Address) {
  return client.readContract({ address: reward, abi: meshworkRewardAbi, functionName: 'balanceOf', args: [account] })
}

describe('MeshworkReward on anvil', () => {
  beforeAll(async () => {
    anvil = await startAnvil()
    client = makeClient(anvil.url)
  })
  afterAll(async () => {
    await anvil?.stop()
  })
  beforeEach(async () => {
    reward = await deployReward(client, hubKey.address)
    volunteer = privateKeyToAccount(generatePrivateKey()).address
    otherVolunteer = privateKeyToAccount(generatePrivateKey()).address
  })

  it('is the MESH token, with the hub key as voucher signer and the domain voucher.ts signs for', async () => {
    const read = <F extends 'name' | 'symbol' | 'voucherSigner'>(functionName: F) =>
      client.readContract({ address: reward, abi: meshworkRewardAbi, functionName })
    expect(await read('name')).toBe('Meshwork Reward')
    expect(await read('symbol')).toBe('MESH')
    expect(await read('voucherSigner')).toBe(hubKey.address)
    const [, name, version, chainId, verifyingContract] = await client.readContract({
      address: reward,
      abi: meshworkRewardAbi,
      functionName: 'eip712Domain',
    })
    expect({ name, version, chainId: Number(chainId), verifyingContract }).toEqual(voucherDomain(anvil.chainId, reward))
    const separator = await client.readContract({ address: reward, abi: meshworkRewardAbi, functionName: 'domainSeparator' })
    expect(separator).toBe(domainSeparator({ domain: voucherDomain(anvil.chainId, reward) }))
  })

  it("pays the voucher's amount to its account, whoever submits it", async () => {
    const amount = parseUnits('12.5', 18)
    const receipt = await claim(await voucher(amount))
    expect(await balanceOf(volunteer)).toBe(amount)
    expect(await balanceOf(submitter.address)).toBe(0n)
    const [event] = parseEventLogs({ abi: meshworkRewardAbi, eventName: 'Claimed', logs: receipt.logs })
    expect(event.args).toEqual({ account: volunteer, amount, cumulativeAmount: amount })
    expect(
      await client.readContract({ address: reward, abi: meshworkRewardAbi, functionName: 'claimed', args: [volunteer] }),
    ).toBe(amount)
  })

  it('pays only the difference for a second, higher voucher', async () => {
    await claim(await voucher(100n))
    const receipt = await claim(await voucher(250n))
    expect(await balanceOf(volunteer)).toBe(250n)
    const [event] = parseEventLogs({ abi: meshworkRewardAbi, eventName: 'Claimed', logs: receipt.logs })
    expect(event.args).toEqual({ account: volunteer, amount: 150n, cumulativeAmount: 250n })
  })

  it('reverts NothingToClaim on a replayed voucher and on a lower one', async () => {
    const v = await voucher(100n)
    await claim(v)
    expect(await revertOf(claim(v))).toEqual({ errorName: 'NothingToClaim', args: [100n, 100n] })
    expect(await revertOf(claim(await voucher(40n)))).toEqual({ errorName: 'NothingToClaim', args: [40n, 100n] })
    expect(await balanceOf(volunteer)).toBe(100n)
  })

  it('reverts InvalidSigner on a voucher signed by another key', async () => {
    const { errorName, args } = await revertOf(claim(await voucher(100n, { signer: otherKey })))
    expect(errorName).toBe('InvalidSigner')
    expect(args).toEqual([otherKey.address])
    expect(await balanceOf(volunteer)).toBe(0n)
  })

  it("reverts InvalidSigner when A's voucher is submitted for account B", async () => {
    const forA = await voucher(100n, { account: volunteer })
    const { errorName, args } = await revertOf(claim({ ...forA, account: otherVolunteer }))
    expect(errorName).toBe('InvalidSigner')
    // the recovered address is some unrelated key, never the hub's
    expect(args?.[0]).not.toBe(hubKey.address)
    expect(await balanceOf(otherVolunteer)).toBe(0n)
    expect(await balanceOf(volunteer)).toBe(0n)
  })

  it('reverts VoucherExpired past the deadline', async () => {
    const deadline = await deadlineIn(-1)
    expect(await revertOf(claim(await voucher(100n, { deadline })))).toEqual({
      errorName: 'VoucherExpired',
      args: [deadline],
    })
    expect(await balanceOf(volunteer)).toBe(0n)
  })
})
