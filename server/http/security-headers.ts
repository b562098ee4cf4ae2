/**
 * Security headers on everything the hub serves. The app's pages get a Content-Security-Policy that allows only what
 * the app needs: its own scripts, workers and styles (Svelte sets style attributes), WebAssembly compilation (the
 * kernels), connections to the hub itself, to its peer relay over WebSockets (on another port of the same host) and to
 * the reward chain's RPC endpoint when one is configured, images from itself and data: URLs. Nothing may frame the
 * app; the partner widget's page (embed.html) may be framed by any site, and nothing else differs for it. API answers
 * get a policy that allows nothing at all (they are data, never documents).
 */
import type { MiddlewareHandler } from 'hono'

export interface SecurityHeaderOptions {
  /** Origin of the reward chain's JSON-RPC endpoint the Wallet page reads (undefined without rewards). */
  chainRpcOrigin?: string
  /** The hub serves HTTPS itself: browsers are told to keep to HTTPS (Strict-Transport-Security). */
  https?: boolean
}

/** The app's policy; `frameAncestors` is `'none'` for the app and `*` for the widget's page. */
export function appContentSecurityPolicy(options: SecurityHeaderOptions, frameAncestors: string): string {
  const connect = ["'self'", 'ws:', 'wss:', ...(options.chainRpcOrigin ? [options.chainRpcOrigin] : [])]
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')
}

/** What API answers (JSON and blobs) get: nothing may load, run or frame. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"

/** Adds the headers to every response (after the handler ran, so they cover errors and static files too). */
export function securityHeaders(options: SecurityHeaderOptions): MiddlewareHandler {
  const appPolicy = appContentSecurityPolicy(options, "'none'")
  const embedPolicy = appContentSecurityPolicy(options, '*')
  return async (c, next) => {
    await next()
    const headers = c.res.headers
    headers.set('x-content-type-options', 'nosniff')
    headers.set('referrer-policy', 'strict-origin-when-cross-origin')
    headers.set('cross-origin-opener-policy', 'same-origin')
    // Compute Pressure and the battery for the app and the widget (which partner pages grant in their iframe's allow).
    headers.set('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), compute-pressure=(self)')
    if (options.https) headers.set('strict-transport-security', 'max-age=31536000')
    const type = headers.get('content-type') ?? ''
    const isEmbed = c.req.path === '/embed.html'
    if (type.startsWith('text/html')) {
      headers.set('content-security-policy', isEmbed ? embedPolicy : appPolicy)
      if (!isEmbed) headers.set('x-frame-options', 'DENY')
    } else if (type.startsWith('text/javascript')) {
      // Scripts (the app's, the service worker's, widget.js): CSP on a script response governs a worker it starts.
      if (!headers.has('content-security-policy')) headers.set('content-security-policy', appPolicy)
    } else if (!headers.has('content-security-policy')) {
      headers.set('content-security-policy', API_CONTENT_SECURITY_POLICY)
    }
  }
}
