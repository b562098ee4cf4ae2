/**
 * Serves the built app (STATIC_DIR) at `/`. Unknown paths get `index.html` so the app's own router handles them, except
 * under `/assets/`: those names are content-hashed by the build, so a miss there is a real 404 (an HTML page in place
 * of a script would only produce a confusing MIME error in the browser). Hashed assets are cached for a year;
 * `index.html` and `sw.js` are revalidated on every load so a new deploy is picked up.
 *
 * The partner widget (issue 5): `widget.js` is loaded by partners' pages from other origins, so it is served to any
 * origin (CORS and CORP) with a short cache, and is a real 404 when missing; `embed.html` is framed by those pages: its
 * Content-Security-Policy (security-headers.ts) lets any site frame it.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Context } from 'hono'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meshwork hub</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Meshwork hub is running</h1>
<p>The app has not been built yet, so there is nothing to show here. Run <code>npm run build</code> and reload
(or set <code>STATIC_DIR</code> to the folder holding the built app).</p>
<p>The API is up: <a href="/api/v1/health">/api/v1/health</a>, <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>`

/** Content type for a file name (octet-stream when unknown). */
export function mimeType(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream'
}

/** Headers of the partner widget's files, beside the usual ones. */
const WIDGET_HEADERS: Record<string, Record<string, string>> = {
  // A new loader reaches partners' visitors within five minutes; its name cannot carry a hash, partners paste it.
  '/widget.js': {
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
    'cross-origin-resource-policy': 'cross-origin',
  },
}

function cacheControl(urlPath: string): string {
  if (urlPath.startsWith('/assets/')) return 'public, max-age=31536000, immutable'
  if (urlPath === '/' || urlPath.endsWith('.html') || urlPath === '/sw.js') return 'no-cache'
  return 'public, max-age=3600'
}

async function readFileIfExists(file: string): Promise<Uint8Array | undefined> {
  try {
    const stat = await fs.stat(file)
    if (!stat.isFile()) return undefined
    return new Uint8Array(await fs.readFile(file))
  } catch {
    return undefined
  }
}

/** A GET handler serving `dir` as a single-page app. */
export function createStaticHandler(dir: string): (c: Context) => Promise<Response> {
  const root = path.resolve(dir)
  return async (c) => {
    let urlPath: string
    try {
      urlPath = decodeURIComponent(new URL(c.req.url).pathname)
    } catch {
      urlPath = '/'
    }
    const file = path.resolve(root, `.${path.posix.normalize(`/${urlPath}`)}`)
    const inside = file === root || file.startsWith(root + path.sep)
    const bytes = inside && !urlPath.endsWith('/') ? await readFileIfExists(file) : undefined
    if (bytes) {
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'content-type': mimeType(file),
        'cache-control': cacheControl(urlPath),
        'x-content-type-options': 'nosniff',
        ...WIDGET_HEADERS[urlPath],
      })
    }
    if (urlPath.startsWith('/assets/')) return c.text(`No asset ${urlPath} in this build.`, 404)
    if (urlPath === '/widget.js') return c.text('No widget.js in this build: run `npm run build`.', 404, WIDGET_HEADERS[urlPath])
    const index = await readFileIfExists(path.join(root, 'index.html'))
    if (!index) return c.html(NOT_BUILT, 200, { 'cache-control': 'no-cache' })
    return c.body(index as Uint8Array<ArrayBuffer>, 200, { 'content-type': MIME['.html'], 'cache-control': 'no-cache' })
  }
}
