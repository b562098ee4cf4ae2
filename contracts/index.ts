// The rewards contract's public surface for the app and the hub. Browser-safe: the anvil and build helpers, which
// need Node, are imported from their own files by tests and scripts.
export { meshworkRewardAbi, meshworkRewardBytecode } from './generated/MeshworkReward.ts'
export { signVoucher, voucherDomain, voucherTypes, type Voucher } from './voucher.ts'
