/**
 * The partner widget's page (`embed.html`), framed by widget/loader.ts on partners' sites. It runs the app's own
 * contribute loop for the partner named in its query, tells the partner's page what happens through postMessage
 * (bridge.ts), and listens to nothing the page sends.
 */
import '../lib/csp.ts'
import { mount } from 'svelte'
import EmbedCard from '../components/embed/EmbedCard.svelte'
import { postHeight, startBridge } from './bridge.ts'
import { parseEmbedParams } from './params.ts'
import { EmbedWidget } from './widget.svelte.ts'
import './embed.css'

const target = document.getElementById('embed')!
const parsed = parseEmbedParams(location.search)
document.documentElement.dataset.theme = parsed.ok ? parsed.params.theme : 'auto'

if (parsed.ok) {
  const widget = new EmbedWidget(parsed.params)
  mount(EmbedCard, { target, props: { widget } })
  widget.load()
  startBridge(() => widget.state())
} else {
  target.className = 'card notice'
  target.setAttribute('role', 'alert')
  target.textContent = `Meshwork widget: ${parsed.message}`
}

// The loader sizes the iframe to the card (unless the partner fixed a height).
new ResizeObserver(() => postHeight(document.body.getBoundingClientRect().height)).observe(document.body)
