/**
 * The embed page's messages to the partner's page (protocol/widget.ts). They go to `window.parent` with targetOrigin
 * '*', because the partner's origin is not known and need not be trusted: the state they carry (running, units done,
 * progress, credit) is harmless for any page to read. Nothing listens the other way: the widget ignores every message
 * it is sent, so no page can start, stop or query it.
 */
import { WIDGET_MESSAGE_SOURCE, type WidgetEventType, type WidgetMessage, type WidgetState } from '../../protocol/widget.ts'

/** Smallest change of `progress` worth a message. */
const PROGRESS_STEP = 0.01

/** The events a change of state from `prev` to `next` produces, in the order a partner would expect them. */
export function eventsBetween(prev: WidgetState, next: WidgetState): WidgetEventType[] {
  const events: WidgetEventType[] = []
  if (prev.running !== next.running) events.push(next.running ? 'started' : 'stopped')
  if (prev.unitsDone !== next.unitsDone || Math.abs(prev.progress - next.progress) >= PROGRESS_STEP) events.push('progress')
  if (prev.creditFlops !== next.creditFlops) events.push('credit')
  return events
}

/** One message: exactly the fields of `WidgetState`, nothing else of the page's state. */
export function widgetMessage(type: WidgetEventType, state: WidgetState): WidgetMessage {
  return {
    source: WIDGET_MESSAGE_SOURCE,
    type,
    running: state.running,
    unitsDone: state.unitsDone,
    progress: Math.min(1, Math.max(0, state.progress)),
    creditFlops: state.creditFlops,
  }
}

export interface BridgeOptions {
  /** Where messages go. @default posting to window.parent with targetOrigin '*' (nothing when not framed) */
  post?: (message: WidgetMessage) => void
  /** How often the state is compared; also the fastest rate of progress messages. @default 250 */
  intervalMs?: number
}

function postToParent(message: WidgetMessage): void {
  if (window.parent !== window) window.parent.postMessage(message, '*')
}

/**
 * Compares the widget's state every `intervalMs` and posts an event for each change (the first reading is the
 * baseline). Polling instead of reacting to each change also throttles progress messages. Returns a stop function.
 */
export function startBridge(read: () => WidgetState, { post = postToParent, intervalMs = 250 }: BridgeOptions = {}): () => void {
  let last = read()
  const timer = setInterval(() => {
    const next = read()
    for (const type of eventsBetween(last, next)) post(widgetMessage(type, next))
    last = next
  }, intervalMs)
  return () => clearInterval(timer)
}

/** Tells the loader the card's height, so the iframe fits it (unless the partner fixed a height). */
export function postHeight(height: number, post: (message: WidgetMessage) => void = postToParent): void {
  post({ source: WIDGET_MESSAGE_SOURCE, type: 'resize', height: Math.ceil(height) })
}
