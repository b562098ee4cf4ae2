/**
 * The loader's pure part: reading a partner's element into the embed page's URL, and turning a message from the
 * embed page into the detail of a DOM event. Kept apart from the DOM code so it is tested in Node.
 */
import { PARTNER_ID_PATTERN, PARTNER_ID_RULE, WIDGET_EVENT_TYPES, WIDGET_MESSAGE_SOURCE, type WidgetEventType, type WidgetState } from '../protocol/widget.ts'

/** Height of the iframe before the card reports its own, and the bounds of any height, in CSS pixels. */
export const HEIGHT = { initial: 250, min: 120, max: 800 } as const

export interface WidgetOptions {
  partner: string
  label: string
  theme: 'light' | 'dark' | 'auto'
  /** A fixed height in CSS pixels (`data-height`); undefined: the iframe follows the card's height. */
  height: number | undefined
}

export type ReadOptionsResult = { ok: true; options: WidgetOptions } | { ok: false; message: string }

/** Reads the element's data attributes (`partner` required; `label`, `theme`, `height` optional). */
export function readOptions(get: (name: string) => string | null): ReadOptionsResult {
  const partner = get('data-partner') ?? ''
  if (!PARTNER_ID_PATTERN.test(partner)) {
    return { ok: false, message: `data-partner must be ${PARTNER_ID_RULE}, got ${JSON.stringify(partner.slice(0, 80))}` }
  }
  const theme = get('data-theme')
  const height = Number(get('data-height') ?? NaN)
  return {
    ok: true,
    options: {
      partner,
      label: (get('data-label') ?? '').trim().slice(0, 80) || partner,
      theme: theme === 'light' || theme === 'dark' ? theme : 'auto',
      height: Number.isFinite(height) && height > 0 ? clampHeight(height) : undefined,
    },
  }
}

/** A height within HEIGHT's bounds, in whole pixels. */
export function clampHeight(height: number): number {
  return Math.round(Math.min(HEIGHT.max, Math.max(HEIGHT.min, height)))
}

/** The embed page's URL on the hub. */
export function embedUrl(hub: string, { partner, label, theme }: WidgetOptions): string {
  const query = new URLSearchParams({ partner, label, theme })
  return `${hub}/embed.html?${query}`
}

/** A message the loader acts on: a widget event to re-dispatch, or the card's height. */
export type LoaderAction = { kind: 'event'; type: WidgetEventType; detail: WidgetState } | { kind: 'resize'; height: number }

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

/**
 * Reads a message's data (already known to come from the hub's origin and this widget's iframe); anything else than a
 * Meshwork message is ignored. The event's detail holds only the known fields, copied by value.
 */
export function readMessage(data: unknown): LoaderAction | undefined {
  if (!data || typeof data !== 'object') return undefined
  const message = data as Record<string, unknown>
  if (message.source !== WIDGET_MESSAGE_SOURCE) return undefined
  if (message.type === 'resize') return { kind: 'resize', height: clampHeight(num(message.height)) }
  const type = WIDGET_EVENT_TYPES.find((t) => t === message.type)
  if (!type) return undefined
  return {
    kind: 'event',
    type,
    detail: { running: message.running === true, unitsDone: num(message.unitsDone), progress: num(message.progress), creditFlops: num(message.creditFlops) },
  }
}
