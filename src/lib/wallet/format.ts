import { formatUnits } from 'viem'

/** Token base units as MESH for people: up to six decimals, rounded down, never shown as more than it is. */
export function formatTokens(wei: bigint): string {
  const whole = formatUnits(wei, 18)
  const [int, frac = ''] = whole.split('.')
  const shown = frac.slice(0, 6).replace(/0+$/, '')
  const truncated = frac.length > 6 && /[1-9]/.test(frac.slice(6))
  return `${truncated && !shown && int === '0' ? '< 0.000001' : shown ? `${int}.${shown}` : int} MESH`
}
