/**
 * The hub's gossipsub validator for PEERS_TOPIC. Gossipsub forwards only what validators accept, so a message that is
 * oversized, not an announcement, unsigned or signed by a key that is not a device key is rejected at the hub and
 * never reaches other volunteers. Announcements that are fine but come too fast are ignored (dropped, not penalised).
 */
import { TopicValidatorResult, type TopicValidatorFn } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeAnnouncement } from '../../protocol/p2p.ts'
import { deviceOfPeerId } from '../../protocol/peer-id.ts'

export interface AnnouncementCounters {
  accepted: number
  rejected: number
  /** Valid announcements dropped because their publisher exceeded the rate limit. */
  ignored: number
}

export interface AnnouncementValidatorOptions {
  /** Announcements a publisher may send in a burst. @default 8 */
  burst?: number
  /** Sustained announcements per second per publisher. @default 2 */
  perSecond?: number
  /** @default Date.now */
  now?: () => number
  /** Called with the reason of each rejection (for the hub log at debug level). */
  onReject?: (from: string, reason: string) => void
}

// Publishers tracked by the rate limiter before the oldest are forgotten (a forgotten publisher starts a new burst).
const MAX_TRACKED_PUBLISHERS = 100_000

/** Why an announcement message must not be forwarded, or undefined when it is fine. */
export function announcementProblem(message: { type: 'signed' | 'unsigned'; from?: { toString(): string }; data: Uint8Array }): string | undefined {
  if (message.type !== 'signed' || !message.from) return 'announcements must be signed by their publisher (StrictSign)'
  if (!deviceOfPeerId(message.from.toString())) return 'the publisher is not an Ed25519 peer id derived from a device key'
  const decoded = decodeAnnouncement(message.data)
  if (!decoded.ok) return decoded.reason
  for (const addr of decoded.announcement.addrs) {
    try {
      multiaddr(addr)
    } catch {
      return `addrs: "${addr.slice(0, 80)}" is not a multiaddr`
    }
  }
  return undefined
}

/** A gossipsub topic validator for PEERS_TOPIC that counts what it accepted, rejected and ignored. */
export function createAnnouncementValidator(counters: AnnouncementCounters, options: AnnouncementValidatorOptions = {}): TopicValidatorFn {
  const { burst = 8, perSecond = 2, now = Date.now, onReject } = options
  const buckets = new Map<string, { tokens: number; at: number }>()
  return (_propagationSource, message) => {
    const problem = announcementProblem(message)
    if (problem) {
      counters.rejected++
      onReject?.(message.type === 'signed' ? message.from.toString() : '(unsigned)', problem)
      return TopicValidatorResult.Reject
    }
    const from = (message as { from: { toString(): string } }).from.toString()
    const t = now()
    const bucket = buckets.get(from) ?? { tokens: burst, at: t }
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * perSecond)
    bucket.at = t
    if (bucket.tokens < 1) {
      counters.ignored++
      return TopicValidatorResult.Ignore
    }
    bucket.tokens -= 1
    // Re-inserted so the map's order is least recently seen first, and the oldest go when it is full.
    buckets.delete(from)
    buckets.set(from, bucket)
    if (buckets.size > MAX_TRACKED_PUBLISHERS) buckets.delete(buckets.keys().next().value!)
    counters.accepted++
    return TopicValidatorResult.Accept
  }
}
