/// <reference lib="webworker" />
/**
 * The service worker: precaches the app shell, the worker scripts and kernels (so the installed app opens and keeps
 * computing with the network gone), answers navigations with the cached shell, activates an update only when the page
 * asks (after its running units are safe), and uploads the result outbox on Background Sync.
 */
import './lib/csp.ts'
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { OUTBOX_SYNC_TAG, SKIP_WAITING } from './lib/pwa/messages.ts'
import { uploadOutboxOnce } from './lib/pwa/sync.ts'

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> }

// The embed page carries ?partner=…; every query parameter is ignored when matching the precache.
precacheAndRoute(self.__WB_MANIFEST, { ignoreURLParametersMatching: [/.*/] })
cleanupOutdatedCaches()
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [/^\/api\//, /^\/embed/, /^\/widget/] }))

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === SKIP_WAITING) void self.skipWaiting()
})

self.addEventListener('sync', (event) => {
  const sync = event as Event & { tag: string; waitUntil(p: Promise<unknown>): void }
  if (sync.tag === OUTBOX_SYNC_TAG) sync.waitUntil(uploadOutboxOnce())
})
