/** Messages and tags shared by the page and the service worker. */

/** The page asks a waiting service worker to activate (after its running units are safe); workbox-window's messageSkipWaiting sends it. */
export const SKIP_WAITING = 'SKIP_WAITING'
/** Background Sync tag under which the service worker uploads the result outbox. */
export const OUTBOX_SYNC_TAG = 'meshwork-outbox'
