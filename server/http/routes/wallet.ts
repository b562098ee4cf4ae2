/** Wallet routes: a sign-in nonce, Sign-In with Ethereum (which links the signing device), and the wallet's totals. */
import type { Address, Hex } from 'viem'
import { MeshworkError } from '../../../protocol/errors.ts'
import { MAX_JSON_BODY_BYTES } from '../../../protocol/limits.ts'
import { RewardsInfo, RewardVoucher, SESSION_HEADER, SignInRequest, SiweNonce, WalletSession, WalletStatus } from '../../../protocol/wallet.ts'
import { issueNonce, sessionAddress, signIn } from '../../wallet/siwe.ts'
import { issueVoucher, walletCredit } from '../../wallet/vouchers.ts'
import type { ApiContext } from '../context.ts'
import { defineRoute, type AnyRoute } from '../route.ts'

export function walletRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/auth/nonce',
      operationId: 'siweNonce',
      summary: 'A single-use nonce for Sign-In with Ethereum',
      description: 'Valid for 10 minutes and for one sign-in.',
      tag: 'wallet',
      auth: 'public',
      response: { status: 200, description: 'The nonce.', json: SiweNonce },
      handle: async ({ c }) => c.json({ nonce: await issueNonce(ctx.store, ctx.now()) } satisfies SiweNonce),
    }),
    defineRoute<SignInRequest>({
      method: 'POST',
      path: '/auth/siwe',
      operationId: 'siweSignIn',
      summary: 'Sign in with a wallet (EIP-4361)',
      description:
        "The message's domain and uri must be this hub's public URL (MESHWORK_PUBLIC_URL), its nonce one from " +
        '`GET /auth/nonce` not used before, and it must carry an expiration time in the future. The request is signed ' +
        'by the device key too: that device is linked to the wallet, so its verified credit counts for it.',
      tag: 'wallet',
      auth: 'device',
      body: { kind: 'json', schema: SignInRequest, limit: MAX_JSON_BODY_BYTES },
      response: { status: 200, description: `The session; send its token in ${SESSION_HEADER}.`, json: WalletSession },
      async handle({ c, body, deviceId }) {
        const session = await signIn(ctx.store, { message: body.message, signature: body.signature as Hex, publicUrl: ctx.publicUrl(), deviceId, now: ctx.now() })
        return c.json(session satisfies WalletSession)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/wallet',
      operationId: 'walletStatus',
      summary: "The signed-in wallet's linked devices and verified credit",
      description: `Needs the ${SESSION_HEADER} header from \`POST /auth/siwe\`.`,
      tag: 'wallet',
      auth: 'public',
      response: { status: 200, description: 'Totals of every device linked to the wallet.', json: WalletStatus },
      errors: [401],
      async handle({ c }) {
        const address = await sessionAddress(ctx.store, c.req.header(SESSION_HEADER), ctx.now())
        const devices = await ctx.store.walletDevices(address)
        return c.json({ address, devices: devices.length, creditFlops: await walletCredit(ctx.store, address) } satisfies WalletStatus)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/rewards',
      operationId: 'rewardsInfo',
      summary: 'The reward token: chain, contract and rate',
      tag: 'wallet',
      auth: 'public',
      response: { status: 200, description: '`enabled: false` when this hub pays no rewards.', json: RewardsInfo },
      handle: ({ c }) => {
        const r = ctx.rewards
        return c.json(
          (r ? { enabled: true, chainId: r.chainId, contract: r.contract, rpcUrl: r.rpcUrl, weiPerCredit: r.weiPerCredit.toString() } : { enabled: false }) satisfies RewardsInfo,
        )
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/wallet/voucher',
      operationId: 'rewardVoucher',
      summary: "A signed voucher for the wallet's cumulative verified credit",
      description:
        `Needs the ${SESSION_HEADER} header. The amount is the verified credit of every device linked to the wallet ` +
        'times the rate, rounded down; submit it to the contract\'s claim(account, cumulativeAmount, deadline, signature).',
      tag: 'wallet',
      auth: 'public',
      response: { status: 200, description: 'The voucher.', json: RewardVoucher },
      errors: [401, 503],
      async handle({ c }) {
        const address = await sessionAddress(ctx.store, c.req.header(SESSION_HEADER), ctx.now())
        if (!ctx.rewards) throw new MeshworkError('Rewards are not configured on this hub.', { code: 'unavailable' })
        return c.json((await issueVoucher(ctx.store, ctx.rewards, address as Address, ctx.now())) satisfies RewardVoucher)
      },
    }),
  ]
}
