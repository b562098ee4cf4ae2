/**
 * What the loader puts in the embed page's query (`embed.html?partner=…&label=…&theme=…`). Anyone can open that URL
 * with anything in it, so every value is checked here: the partner id must match its pattern (or the widget refuses to
 * run), the label is plain text of bounded length (Svelte renders it as text, never HTML).
 */
import { PARTNER_ID_PATTERN, PARTNER_ID_RULE } from '../../protocol/widget.ts'

export type EmbedTheme = 'light' | 'dark' | 'auto'

export interface EmbedParams {
  partner: string
  /** The partner's name as shown in the card. @default the partner id */
  label: string
  /** @default 'auto' (the visitor's color scheme) */
  theme: EmbedTheme
}

/** Longest label shown (characters). */
export const MAX_LABEL = 80

export type ParseEmbedParamsResult = { ok: true; params: EmbedParams } | { ok: false; message: string }

/** Reads and checks the embed page's query string. */
export function parseEmbedParams(search: string): ParseEmbedParamsResult {
  const query = new URLSearchParams(search)
  const partner = query.get('partner') ?? ''
  if (!PARTNER_ID_PATTERN.test(partner)) {
    return {
      ok: false,
      message: partner
        ? `The partner id "${partner.slice(0, 80)}" is not valid: it must be ${PARTNER_ID_RULE}.`
        : 'This widget has no partner id: the page must set data-partner on its element.',
    }
  }
  // Control characters and surrounding space out; the rest is text.
  const label = (query.get('label') ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_LABEL) || partner
  const theme = query.get('theme')
  return { ok: true, params: { partner, label, theme: theme === 'light' || theme === 'dark' ? theme : 'auto' } }
}
