/**
 * Sign-In with Ethereum against a real hub over HTTP: a viem test account signs EIP-4361 messages; the device that
 * signs the request is linked to the wallet, so its verified credit counts for it.
 */
import { privateKeyToAccount } from 'viem/accounts'
import { createSiweMessage, type CreateSiweMessageParameters } from 'viem/siwe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SESSION_HEADER, type SiweNonce, type WalletSession, type WalletStatus } from '../../protocol/wallet.ts'
import { startTestHub, Volunteer, waitFor, type TestHub } from '../test-helpers.ts'

const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
let t: TestHub

beforeAll(async () => {
  t = await startTestHub()
})

afterAll(async () => {
  await t.close()
})

async function nonce(): Promise<string> {
  return ((await (await fetch(`${t.url}/api/v1/auth/nonce`)).json()) as SiweNonce).nonce
}

async function message(overrides: Partial<CreateSiweMessageParameters> = {}): Promise<string> {
  const url = new URL(t.url)
  return createSiweMessage({
    address: account.address,
    chainId: 31337,
    domain: url.host,
    uri: url.origin,
    version: '1',
    nonce: await nonce(),
    issuedAt: new Date(),
    expirationTime: new Date(Date.now() + 10 * 60 * 1000),
    statement: 'Sign in to Meshwork.',
    ...overrides,
  })
}

async function signIn(volunteer: Volunteer, text: string, signature?: `0x${string}`): Promise<Response> {
  return volunteer.request('POST', '/auth/siwe', { message: text, signature: signature ?? (await account.signMessage({ message: text })) })
}

async function errorOf(response: Response): Promise<string> {
  expect(response.status).toBe(401)
  return ((await response.json()) as { message: string }).message
}

describe('Sign-In with Ethereum', () => {
  it('opens a session for the address and links the device, whose earlier verified credit then counts', async () => {
    await t.createMatmulJob({ m: 32, n: 32, k: 32, tile: 32, seed: 71 })
    const volunteer = await Volunteer.create(t.url)
    const [unit] = await volunteer.lease(1)
    expect((await volunteer.submit(unit.unitId, await volunteer.compute(unit))).status).toBe(200)
    await waitFor(async () => (await (await volunteer.request('GET', '/volunteer/summary')).json()).creditFlops > 0, 'credit')

    const response = await signIn(volunteer, await message())
    expect(response.status).toBe(200)
    const session = (await response.json()) as WalletSession
    expect(session.address).toBe(account.address)
    const status = (await (await fetch(`${t.url}/api/v1/wallet`, { headers: { [SESSION_HEADER]: session.token } })).json()) as WalletStatus
    expect(status).toEqual({ address: account.address, devices: 1, creditFlops: 2 * 32 * 32 * 32 })
  })

  it('refuses a reused nonce, another domain or uri, an expired, unexpiring or altered message, and a wrong signer', async () => {
    const volunteer = await Volunteer.create(t.url)
    const once = await message()
    expect((await signIn(volunteer, once)).status).toBe(200)
    expect(await errorOf(await signIn(volunteer, once))).toMatch(/nonce is unknown, expired or already used/)
    expect(await errorOf(await signIn(volunteer, await message({ domain: 'evil.example' })))).toMatch(/is for evil\.example, not this hub/)
    expect(await errorOf(await signIn(volunteer, await message({ uri: 'https://evil.example/login' })))).toMatch(/uri https:\/\/evil\.example is not this hub/)
    expect(await errorOf(await signIn(volunteer, await message({ expirationTime: new Date(Date.now() - 1000) })))).toMatch(/expired/)
    expect(await errorOf(await signIn(volunteer, await message({ expirationTime: undefined })))).toMatch(/must carry an expiration time/)
    const original = await message()
    const signature = await account.signMessage({ message: original })
    const altered = original.replace('Sign in to Meshwork.', 'Sign in to Meshwork and send everything.')
    expect(await errorOf(await signIn(volunteer, altered, signature))).toMatch(/signature does not match/)
    // The nonce of a refused sign-in is not spent: the genuine message still works.
    expect((await signIn(volunteer, original, signature)).status).toBe(200)
    const other = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')
    const forged = await message()
    expect(await errorOf(await signIn(volunteer, forged, await other.signMessage({ message: forged })))).toMatch(/signature does not match/)
  })

  it('answers the wallet only with a live session, and rejects a malformed sign-in body naming the field', async () => {
    expect((await fetch(`${t.url}/api/v1/wallet`)).status).toBe(401)
    expect((await fetch(`${t.url}/api/v1/wallet`, { headers: { [SESSION_HEADER]: 'made-up' } })).status).toBe(401)
    const volunteer = await Volunteer.create(t.url)
    const bad = await volunteer.request('POST', '/auth/siwe', { message: 'hello', signature: 'nope' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toMatch(/^signature: /)
  })
})
