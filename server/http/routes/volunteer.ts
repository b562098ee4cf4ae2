/** Volunteer endpoints: every request is signed by the device key (see ../device-auth.ts). */
import { z } from 'zod'
import { MeshworkError } from '../../../protocol/errors.ts'
import { fromBase64 } from '../../../protocol/encoding.ts'
import { MAX_BATCH_RESULTS, MAX_JSON_BODY_BYTES, MAX_RESULT_BODY_BYTES } from '../../../protocol/limits.ts'
import { BANDWIDTH_FLOPS_PER_BYTE, MAX_BANDWIDTH_CREDIT_BYTES_PER_DAY, ReceiptAck, ReceiptSubmission } from '../../../protocol/p2p.ts'
import {
  BatchAck,
  CreditHistory,
  LeaseRequest,
  LeaseResponse,
  ResultBatch,
  ResultSubmission,
  SubmitAck,
  VolunteerDecisions,
  VolunteerResults,
  VolunteerSummary,
} from '../../../protocol/schemas.ts'
import { leaseWork, leaseRefusal } from '../../loops/scheduler.ts'
import { cryptoRandom } from '../../loops/validator.ts'
import { submitReceipts } from '../../receipts/index.ts'
import type { ApiContext } from '../context.ts'
import { defineRoute, type AnyRoute } from '../route.ts'

/** Draws which trusted devices get replicated units alone (unpredictable to them). */
const trustRandom = cryptoRandom()

/** Most ledger entries `GET /volunteer/credit` returns (the newest ones). */
export const CREDIT_HISTORY_LIMIT = 1000

const DecisionsQuery = z.object({
  resultId: z.uuid().optional().describe('Only the decisions about this result of the device (its verdict, its unit\'s quorum, its credit).'),
  limit: z.coerce.number().int().min(1).max(200).default(100).describe('How many decisions (1 to 200).'),
})

const ResultsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('How many results, newest first (1 to 200).'),
})

/** The volunteer routes. */
export function volunteerRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute<LeaseRequest>({
      method: 'POST',
      path: '/work/lease',
      operationId: 'leaseWork',
      summary: 'Lease units to compute',
      description:
        'Leases up to `max` units, each with a deadline; `units` is empty when there is no work. A partner\'s widget sends ' +
        '`partner`: the lease records it, and so do the results returned for these units (see GET /partners).',
      tag: 'volunteer',
      auth: 'device',
      body: { kind: 'json', schema: LeaseRequest, limit: MAX_JSON_BODY_BYTES },
      response: { status: 200, description: 'The leased units.', json: LeaseResponse },
      async handle({ c, body, deviceId }) {
        const now = ctx.now()
        const { verification } = ctx
        const units = await leaseWork(ctx.store, {
          deviceId,
          max: body.max,
          backends: body.backends,
          leaseMs: ctx.leaseMs,
          partner: body.partner,
          now,
          independentNetworks: !verification.replicasSameNetwork,
          dailyQuota: verification.dailyQuota,
          ...(verification.trustAfter > 0 ? { trust: { minStreak: verification.trustAfter, random: trustRandom } } : {}),
        })
        const reason = units.length ? undefined : await leaseRefusal(ctx.store, deviceId, now, verification.dailyQuota)
        return c.json({ units, ...(reason ? { reason } : {}) } satisfies LeaseResponse)
      },
    }),
    defineRoute<ResultSubmission>({
      method: 'POST',
      path: '/results',
      operationId: 'submitResult',
      summary: 'Return a computed result',
      description:
        'Answers only after the result is durably stored. Re-sending the same `resultId` is harmless (`duplicate: true`). ' +
        'Accepted only for a unit leased to this device, with exactly the output size the unit needs. `partner` records ' +
        'the partner site whose widget computed it; without it, the result takes the partner of its lease.',
      tag: 'volunteer',
      auth: 'device',
      body: { kind: 'json', schema: ResultSubmission, limit: MAX_RESULT_BODY_BYTES },
      response: { status: 200, description: 'The result is stored.', json: SubmitAck },
      errors: [403, 404, 409, 503],
      async handle({ c, body, deviceId }) {
        const output = fromBase64(body.output)
        if (!output) throw new MeshworkError('output: must be base64', { code: 'bad_request' })
        const ack = await ctx.ingest.submit({ deviceId, submission: body, output, now: ctx.now() })
        return c.json(ack)
      },
    }),
    defineRoute<ResultBatch>({
      method: 'POST',
      path: '/results/batch',
      operationId: 'submitResults',
      summary: 'Return several computed results at once',
      description:
        `Up to ${MAX_BATCH_RESULTS} results of this device in one signed request, stored in one commit; the whole body ` +
        'has the limit of a single result (a large result travels alone). Answers only after every accepted result is ' +
        'durably stored, with one answer per result in order: `ok: true` as POST /results would acknowledge it, or ' +
        '`ok: false` with the `code` and `message` POST /results would have refused it with (that result stored nothing). ' +
        'A malformed batch is refused as a whole. Re-sending a batch is harmless (the stored ones come back `duplicate`).',
      tag: 'volunteer',
      auth: 'device',
      body: { kind: 'json', schema: ResultBatch, limit: MAX_RESULT_BODY_BYTES },
      response: { status: 200, description: 'One answer per result, in order.', json: BatchAck },
      errors: [503],
      async handle({ c, body, deviceId }) {
        const submissions = body.results.map((submission, i) => {
          const output = fromBase64(submission.output)
          if (!output) throw new MeshworkError(`results.${i}.output: must be base64`, { code: 'bad_request' })
          return { submission, output }
        })
        const results = await ctx.ingest.submitBatch({ deviceId, submissions, now: ctx.now() })
        return c.json({ results } satisfies BatchAck)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/volunteer/summary',
      operationId: 'volunteerSummary',
      summary: "This device's result counts and verified credit",
      tag: 'volunteer',
      auth: 'device',
      response: { status: 200, description: 'Counts and credit.', json: VolunteerSummary },
      async handle({ c, deviceId }) {
        const { creditFlops, crediting, bandwidth, ...results } = await ctx.store.deviceSummary(deviceId)
        return c.json({ deviceId, results, creditFlops, crediting, bandwidth } satisfies VolunteerSummary)
      },
    }),
    defineRoute<undefined, z.infer<typeof ResultsQuery>>({
      method: 'GET',
      path: '/volunteer/results',
      operationId: 'volunteerResults',
      summary: "This device's results, newest first",
      description: 'Invalid results carry the reason the validator gave.',
      tag: 'volunteer',
      auth: 'device',
      query: ResultsQuery,
      response: { status: 200, description: 'Results.', json: VolunteerResults },
      async handle({ c, deviceId, query }) {
        const results = await ctx.store.deviceResults(deviceId, query.limit)
        return c.json({ results } satisfies VolunteerResults)
      },
    }),
    defineRoute<undefined, z.infer<typeof DecisionsQuery>>({
      method: 'GET',
      path: '/volunteer/decisions',
      operationId: 'volunteerDecisions',
      summary: "Why this device's results earned what they did",
      description:
        'The decision log, oldest first: every verdict (and how the result was checked), quorum outcomes of its units, ' +
        'credit granted or capped, quota changes and refused leases. With `resultId`, only what concerns that result.',
      tag: 'volunteer',
      auth: 'device',
      query: DecisionsQuery,
      response: { status: 200, description: 'Decisions.', json: VolunteerDecisions },
      async handle({ c, deviceId, query }) {
        const decisions = await ctx.store.deviceDecisions(deviceId, { limit: query.limit, ...(query.resultId ? { resultId: query.resultId } : {}) })
        return c.json({
          decisions: decisions.map((d) => ({ at: d.at, kind: d.kind, unitId: d.unitId, resultId: d.resultId, message: d.message })),
        } satisfies VolunteerDecisions)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/volunteer/credit',
      operationId: 'volunteerCredit',
      summary: "This device's credit ledger",
      description: `Ledger entries, oldest first: at most the last ${CREDIT_HISTORY_LIMIT}.`,
      tag: 'volunteer',
      auth: 'device',
      response: { status: 200, description: 'Ledger entries.', json: CreditHistory },
      async handle({ c, deviceId }) {
        const entries = await ctx.store.deviceLedger(deviceId, CREDIT_HISTORY_LIMIT)
        return c.json({
          entries: entries.map((e) => ({ at: e.createdAt, creditFlops: e.amountFlops, kind: e.kind })),
        } satisfies CreditHistory)
      },
    }),
    defineRoute<ReceiptSubmission>({
      method: 'POST',
      path: '/receipts',
      operationId: 'submitReceipts',
      summary: 'Report input blobs one volunteer served another over the peer network',
      description:
        `Each receipt is signed by the receiving device; the request may come from the receiver or the server. A credited ` +
        `receipt earns the SERVER ${BANDWIDTH_FLOPS_PER_BYTE} flops per byte, once per (receiver, blob), up to ` +
        `${MAX_BANDWIDTH_CREDIT_BYTES_PER_DAY} bytes per server and UTC day. Refused only if: the signature or the roles are ` +
        'wrong, the unit does not read the blob, the receiver never leased the unit, `bytes` is not the blob\'s size, the ' +
        'server never called the hub, both call from the same network, or the receiver already has a receipt for the blob. ' +
        'Each receipt gets its own verdict; a refused one stores nothing. Re-sending a receipt id is harmless (`duplicate`).',
      tag: 'volunteer',
      auth: 'device',
      body: { kind: 'json', schema: ReceiptSubmission, limit: MAX_JSON_BODY_BYTES },
      response: { status: 200, description: 'A verdict per receipt, in order.', json: ReceiptAck },
      async handle({ c, body, deviceId }) {
        const ack = await submitReceipts(ctx.store, { signer: deviceId, submission: body, now: ctx.now(), ...ctx.receipts })
        return c.json(ack satisfies ReceiptAck)
      },
    }),
  ]
}
