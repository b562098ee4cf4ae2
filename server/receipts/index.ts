export { submitReceipts } from './submit-receipts.ts'
export type { ReceiptRules, SubmitReceiptsParameters } from './submit-receipts.ts'
export { networkOf } from './network.ts'
