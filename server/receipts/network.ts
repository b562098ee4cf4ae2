/**
 * Which network a request came from, for the rule that bandwidth credit is earned only by serving independent
 * volunteers: two devices calling from the same IPv4 /24 or IPv6 /48 are taken to be one household, office or
 * operator, and loopback addresses are all one network. Coarse on purpose: it stops one person crediting their own
 * second browser, not a determined operator with many networks (that is what the per-server daily cap bounds).
 */
import { isIPv4, isIPv6 } from 'node:net'

/** The 8 groups of an IPv6 address as numbers, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '')
  if (!isIPv6(text)) return undefined
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number)
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return groups.map((g) => parseInt(g, 16))
}

/**
 * A label for the network of `address` (a socket's remote address): `loopback`, `v4:a.b.c` (the /24) or `v6:x:y:z`
 * (the /48); IPv4-mapped IPv6 addresses count as IPv4. Undefined when the address is missing or not an IP.
 */
export function networkOf(address: string | undefined): string | undefined {
  if (!address) return undefined
  let v4 = isIPv4(address) ? address : undefined
  if (!v4) {
    const groups = ipv6Groups(address)
    if (!groups) return undefined
    if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return 'loopback'
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
    if (!mapped) return `v6:${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}`
    v4 = [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.')
  }
  const octets = v4.split('.').map(Number)
  if (octets[0] === 127) return 'loopback'
  return `v4:${octets.slice(0, 3).join('.')}`
}
