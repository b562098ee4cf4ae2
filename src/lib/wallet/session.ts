/** The wallet session the hub opened at sign-in, kept in localStorage until it expires. */
import type { WalletSession } from '../../../protocol/wallet.ts'

const KEY = 'meshwork.walletSession'

/** The stored session for `address`, if it has not expired. */
export function loadSession(address: string, now = Date.now()): WalletSession | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as WalletSession | null
    if (saved && saved.address.toLowerCase() === address.toLowerCase() && saved.expiresAt > now) return saved
  } catch {
    // Unreadable: treat as signed out.
  }
  return undefined
}

export function saveSession(session: WalletSession): void {
  localStorage.setItem(KEY, JSON.stringify(session))
}

export function clearSession(): void {
  localStorage.removeItem(KEY)
}
