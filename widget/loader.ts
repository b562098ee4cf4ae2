/**
 * The partner widget's loader (`/widget.js`, built to an IIFE by vite.widget.config.ts). A partner's page adds
 *
 *   <script src="https://HUB/widget.js" async></script>
 *   <div data-meshwork-widget data-partner="example-news" data-label="Example News"></div>
 *
 * and the loader puts an iframe of the hub's `embed.html` in each such element (also ones added later). The iframe is
 * from the hub's origin, so the partner's page can neither read the volunteer's data nor start compute: only a click
 * inside the frame starts it. The frame's messages come back as `meshwork:started|stopped|progress|credit` events on
 * the element, after checking they come from the hub's origin and from that very frame.
 *
 * No framework and no dependencies: this runs on every partner page view, so it must stay tiny (budget: 10 KB gzip).
 */
import { HEIGHT, embedUrl, readMessage, readOptions } from './options.ts'

const SELECTOR = '[data-meshwork-widget]'

/** The hub this script was loaded from: the iframe's origin, and the only origin whose messages count. */
const hub = new URL(
  (document.currentScript as HTMLScriptElement | null)?.src ??
    // Loaded in some way that leaves no currentScript (e.g. as a module): find the tag by name.
    document.querySelector<HTMLScriptElement>('script[src$="/widget.js"]')?.src ??
    location.href,
).origin

interface Mounted {
  element: HTMLElement
  frame: HTMLIFrameElement
  fixedHeight: boolean
}

const mounted: Mounted[] = []

/**
 * Renders the widget into `element` (which carries the data attributes) and returns its iframe; an element already
 * mounted keeps its frame. Returns undefined, with the reason in the console and in `data-meshwork-error`, when the
 * attributes are wrong.
 */
function mount(element: HTMLElement): HTMLIFrameElement | undefined {
  const existing = mounted.find((m) => m.element === element)
  if (existing) return existing.frame
  const read = readOptions((name) => element.getAttribute(name))
  if (!read.ok) {
    element.setAttribute('data-meshwork-error', read.message)
    console.error(`Meshwork widget: ${read.message}`, element)
    return undefined
  }
  const { options } = read
  const frame = document.createElement('iframe')
  frame.src = embedUrl(hub, options)
  frame.title = `Meshwork: lend spare computing power with ${options.label}`
  // Scripts and its own origin's storage (device key, outbox), and new tabs for links; never the top window.
  frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox')
  // The widget's governor reads CPU pressure (it slows down or pauses when the computer is under strain).
  frame.setAttribute('allow', 'compute-pressure')
  frame.setAttribute('referrerpolicy', 'origin')
  frame.style.cssText = `display:block;width:100%;max-width:480px;border:0;height:${options.height ?? HEIGHT.initial}px;color-scheme:normal`
  element.replaceChildren(frame)
  element.removeAttribute('data-meshwork-error')
  mounted.push({ element, frame, fixedHeight: options.height !== undefined })
  return frame
}

function mountAll(root: ParentNode): void {
  if (root instanceof HTMLElement && root.matches(SELECTOR)) mount(root)
  root.querySelectorAll<HTMLElement>(SELECTOR).forEach((element) => mount(element))
}

function onMessage(event: MessageEvent): void {
  if (event.origin !== hub) return
  const entry = mounted.find((m) => m.frame.contentWindow === event.source)
  if (!entry) return
  const action = readMessage(event.data)
  if (!action) return
  if (action.kind === 'resize') {
    if (!entry.fixedHeight) entry.frame.style.height = `${action.height}px`
  } else {
    entry.element.dispatchEvent(new CustomEvent(`meshwork:${action.type}`, { detail: action.detail, bubbles: true }))
  }
}

function start(): void {
  addEventListener('message', onMessage)
  mountAll(document)
  new MutationObserver((records) => {
    for (const record of records) record.addedNodes.forEach((node) => node instanceof HTMLElement && mountAll(node))
  }).observe(document.documentElement, { childList: true, subtree: true })
}

/** The page's handle: `Meshwork.mount(element)` for an element the observer would not see (e.g. in a shadow root). */
const api = { mount, version: 1 }
const global = window as { Meshwork?: typeof api }
// Included twice: the first copy does the work.
if (!global.Meshwork) {
  global.Meshwork = api
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true })
  else start()
}
