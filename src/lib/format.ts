/** Formatting for people, shared by the app and the partner widget (which must not load the app's state in lib/app.ts). */

/** Formats flops as GFLOP (the credit unit) with enough digits to show every unit's share. */
export function formatCredit(flops: number): string {
  return `${(flops / 1e9).toLocaleString('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 })} GFLOP`
}
