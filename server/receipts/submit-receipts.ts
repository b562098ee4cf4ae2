/**
 * Bandwidth receipts, as the hub credits them: a volunteer that received an input blob from another volunteer (and
 * checked it against its hash) signs a receipt; either of the two sends it; the SERVER earns
 * BANDWIDTH_FLOPS_PER_BYTE for each byte, once per (receiver, blob), up to a daily cap. Everything that needs only the
 * request is checked here; everything that needs stored state is checked by the store in the crediting transaction.
 *
 * The independence rule is "not from the same network" (see network.ts). A same-wallet rule joins it when wallets
 * exist: receipts between devices of one wallet will then be refused the same way.
 */
import { MAX_CLOCK_SKEW_MS } from '../../protocol/limits.ts'
import {
  BANDWIDTH_FLOPS_PER_BYTE,
  MAX_BANDWIDTH_CREDIT_BYTES_PER_DAY,
  verifyReceipt,
  type ReceiptAck,
  type ReceiptSubmission,
} from '../../protocol/p2p.ts'
import type { ReceiptInsert, Store } from '../store/types.ts'

export interface ReceiptRules {
  /** Credit receipts whose receiver and server call from the same network (the e2e tests run every browser on 127.0.0.1). @default false */
  allowSameNetwork?: boolean
  /** Most bytes one server is credited for per UTC day. @default MAX_BANDWIDTH_CREDIT_BYTES_PER_DAY (10 GiB) */
  dailyCapBytes?: number
}

export interface SubmitReceiptsParameters extends ReceiptRules {
  /** The device that signed the HTTP request. */
  signer: string
  submission: ReceiptSubmission
  now: number
}

/** Checks and credits a batch of receipts; each gets a verdict, and a refused one stores nothing. */
export async function submitReceipts(
  store: Store,
  { signer, submission, now, allowSameNetwork = false, dailyCapBytes = MAX_BANDWIDTH_CREDIT_BYTES_PER_DAY }: SubmitReceiptsParameters,
): Promise<ReceiptAck> {
  const refusals = await Promise.all(
    submission.receipts.map(async ({ body, signature }): Promise<string | undefined> => {
      if (signer !== body.receiver && signer !== body.server) return 'only the receiver or the server of a receipt may submit it'
      if (body.receiver === body.server) return 'the receiver and the server are the same device'
      if (body.at > now + MAX_CLOCK_SKEW_MS) return `at is ${body.at - now} ms in the future; check the receiver's clock`
      if (!(await verifyReceipt({ body, signature }))) return "the signature is not the receiver's over this receipt"
      return undefined
    }),
  )
  const checked: ReceiptInsert[] = []
  submission.receipts.forEach(({ body, signature }, i) => {
    if (refusals[i] !== undefined) return
    checked.push({
      receiptId: body.receiptId,
      receiver: body.receiver,
      server: body.server,
      blob: body.blob,
      bytes: body.bytes,
      unitId: body.unitId,
      signedAt: body.at,
      signature,
      submittedBy: signer,
    })
  })
  const outcomes = checked.length
    ? await store.recordReceipts({ receipts: checked, now, flopsPerByte: BANDWIDTH_FLOPS_PER_BYTE, dailyCapBytes, allowSameNetwork })
    : []
  let next = 0
  return {
    results: submission.receipts.map(({ body }, i) => {
      const refusal = refusals[i]
      if (refusal !== undefined) return { receiptId: body.receiptId, state: 'refused', reason: refusal, creditFlops: 0 }
      const outcome = outcomes[next++]
      if (outcome.kind === 'refused') return { receiptId: body.receiptId, state: 'refused', reason: outcome.reason, creditFlops: 0 }
      return { receiptId: body.receiptId, state: outcome.kind, creditFlops: outcome.creditFlops }
    }),
  }
}
