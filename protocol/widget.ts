/**
 * The partner widget's wire types (issue 5): the partner id that attributes credit to a partner site, and the
 * messages the embed page (`embed.html`, in an iframe from the hub's origin) posts to the partner's page, which the
 * loader (`widget/loader.ts`) re-dispatches as DOM events. No imports: the loader bundles this file and must stay tiny.
 *
 * The messages go to the parent with targetOrigin '*', so they carry only what is harmless for any page to read:
 * whether the widget computes, how many units it finished, the progress of the current units and the credit earned.
 * Never a device key, a wallet or anything else that identifies the volunteer.
 */

/** A partner id: 1 to 64 of a-z 0-9 and '-', e.g. `example-news`. */
export const PARTNER_ID_PATTERN = /^[a-z0-9-]{1,64}$/

/** What a partner id must look like, for error messages. */
export const PARTNER_ID_RULE = '1 to 64 of a-z 0-9 -'

/** `source` of every message the embed page posts. */
export const WIDGET_MESSAGE_SOURCE = 'meshwork'

/** Events the loader re-dispatches on the partner's element as `meshwork:<type>` CustomEvents. */
export const WIDGET_EVENT_TYPES = ['started', 'stopped', 'progress', 'credit'] as const
export type WidgetEventType = (typeof WIDGET_EVENT_TYPES)[number]

/** The widget's state as the partner's page may see it. */
export interface WidgetState {
  /** Whether the widget is computing (the person pressed Start and not Stop). */
  running: boolean
  /** Units this widget finished computing since it was loaded. */
  unitsDone: number
  /** Mean progress of the units computing now, 0 to 1 (0 when none). */
  progress: number
  /** Verified credit of this widget's device, in flops (1 GFLOP = 1e9), as the hub reports it. */
  creditFlops: number
}

/** A message from the embed page to the partner's page. */
export type WidgetMessage =
  | ({ source: typeof WIDGET_MESSAGE_SOURCE; type: WidgetEventType } & WidgetState)
  /** Internal: the card's content height in CSS pixels, so the loader can size the iframe. Not re-dispatched. */
  | { source: typeof WIDGET_MESSAGE_SOURCE; type: 'resize'; height: number }
