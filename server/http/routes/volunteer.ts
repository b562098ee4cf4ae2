/** Volunteer endpoints: every request is signed by the device key (see ../device-auth.ts). */
import { z } from 'zod'
import { MeshworkError } from '../../../protocol/errors.ts'
import { fromBase64 } from '../../../protocol/encoding.ts'
import { MAX_JSON_BODY_BYTES, MAX_RESULT_BODY_BYTES } from '../../../protocol/limits.ts'
import {
  CreditHistory,
  LeaseRequest,
  LeaseResponse,
  ResultSubmission,
  SubmitAck,
  VolunteerResults,
  VolunteerSummary,
} from '../../../protocol/schemas.ts'
import { leaseWork } from '../../loops/scheduler.ts'
import type { ApiContext } from '../context.ts'
import { defineRoute, type AnyRoute } from '../route.ts'

/** Most ledger entries `GET /volunteer/credit` returns (the newest ones). */
export const CREDIT_HISTORY_LIMIT = 1000

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
      description: 'Leases up to `max` units, each with a deadline; `units` is empty when there is no work.',
      tag: 'volunteer',
      auth: 'device',
      body: { kind: 'json', schema: LeaseRequest, limit: MAX_JSON_BODY_BYTES },
      response: { status: 200, description: 'The leased units.', json: LeaseResponse },
      async handle({ c, body, deviceId }) {
        const units = await leaseWork(ctx.store, { deviceId, max: body.max, backends: body.backends, leaseMs: ctx.leaseMs, now: ctx.now() })
        return c.json({ units } satisfies LeaseResponse)
      },
    }),
    defineRoute<ResultSubmission>({
      method: 'POST',
      path: '/results',
      operationId: 'submitResult',
      summary: 'Return a computed result',
      description:
        'Answers only after the result is durably stored. Re-sending the same `resultId` is harmless (`duplicate: true`). ' +
        'Accepted only for a unit leased to this device, with exactly the output size the unit needs.',
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
    defineRoute({
      method: 'GET',
      path: '/volunteer/summary',
      operationId: 'volunteerSummary',
      summary: "This device's result counts and verified credit",
      tag: 'volunteer',
      auth: 'device',
      response: { status: 200, description: 'Counts and credit.', json: VolunteerSummary },
      async handle({ c, deviceId }) {
        const { creditFlops, crediting, ...results } = await ctx.store.deviceSummary(deviceId)
        return c.json({ deviceId, results, creditFlops, crediting } satisfies VolunteerSummary)
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
        return c.json({ entries: entries.map((e) => ({ at: e.createdAt, creditFlops: e.amountFlops })) } satisfies CreditHistory)
      },
    }),
  ]
}
