/**
 * Size budgets, checked on the build output (`npm run build` first): the JavaScript a first visit must load before
 * the app shell runs, and the partner widget's loader. Sizes are gzip at level 9, as a server would send them.
 * The wallet (wagmi, viem) and the peer network (libp2p) must stay out of the critical path: they load on demand.
 * Exits 1, naming each budget exceeded.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { gzipSync } from 'node:zlib'

const DIST = process.argv[2] ?? 'dist'
/** App shell: critical-path JavaScript, gzipped. */
const APP_SHELL_BUDGET = 170 * 1024
/** The partner widget's loader, gzipped. */
const WIDGET_BUDGET = 10 * 1024
/** Strings only the lazily loaded wallet and peer code contain; finding one on the critical path is a failure. */
const LAZY_MARKERS = { 'wallet (wagmi/EIP-6963)': 'eip6963:requestProvider', 'peer network (libp2p)': '/libp2p/circuit/relay/0.2.0/hop' }

const gz = (bytes: Buffer) => gzipSync(bytes, { level: 9 }).byteLength
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

/** The entry scripts and module preloads of index.html, and every chunk they import statically, transitively. */
function criticalChunks(): string[] {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8')
  const queue = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"|<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map(
    (m) => (m[1] ?? m[2]).replace(/^\//, ''),
  )
  const seen = new Set<string>()
  while (queue.length) {
    const file = queue.shift()!
    if (seen.has(file)) continue
    seen.add(file)
    const code = readFileSync(join(DIST, file), 'utf8')
    // Static imports only (`import{a}from"./x.js"`, `import"./x.js"`); `import("./x.js")` is lazy and not followed.
    for (const m of code.matchAll(/(?:^|[;}\s])(?:import|export)\s*(?:[\w*{}\s,$]+from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g)) {
      queue.push(posix.normalize(posix.join(posix.dirname(file), m[1])))
    }
  }
  return [...seen]
}

const failures: string[] = []
const rows: [string, string, string][] = []

const chunks = criticalChunks()
let shell = 0
for (const file of chunks) {
  const bytes = readFileSync(join(DIST, file))
  shell += gz(bytes)
  const text = bytes.toString('utf8')
  for (const [what, marker] of Object.entries(LAZY_MARKERS)) {
    if (text.includes(marker)) failures.push(`${file} is on the critical path but contains the ${what} code, which must load lazily.`)
  }
}
rows.push([`app shell (${chunks.length} critical chunk${chunks.length === 1 ? '' : 's'})`, kb(shell), kb(APP_SHELL_BUDGET)])
if (shell > APP_SHELL_BUDGET) failures.push(`The app shell's critical-path JavaScript is ${kb(shell)} gzipped, over its ${kb(APP_SHELL_BUDGET)} budget.`)

const widget = join(DIST, 'widget.js')
if (!existsSync(widget)) failures.push(`${widget} is missing: the build must emit the partner widget's loader.`)
else {
  const size = gz(readFileSync(widget))
  rows.push(['widget.js', kb(size), kb(WIDGET_BUDGET)])
  if (size > WIDGET_BUDGET) failures.push(`widget.js is ${kb(size)} gzipped, over its ${kb(WIDGET_BUDGET)} budget.`)
}

for (const [name, size, budget] of rows) console.log(`${name.padEnd(40)} ${size.padStart(10)}  (budget ${budget})`)
if (failures.length) {
  for (const f of failures) console.error(`budget: ${f}`)
  process.exit(1)
}
console.log('budgets: all within limits')
