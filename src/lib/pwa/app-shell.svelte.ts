/**
 * The installed-app side of the page: registers the service worker with workbox-window, offers Install when the
 * browser allows it, and when a new version is deployed says so and applies it only when the person agrees, after
 * the units that are computing have finished (their results are in the outbox, which survives the reload).
 */
import { Workbox } from 'workbox-window'
import type { Contributor } from '../contribute/index.ts'
import { SKIP_WAITING } from './messages.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Longest wait for running units before an accepted update goes ahead. */
const FINISH_WAIT_MS = 150_000
/** How often an open page looks for a new version. */
const UPDATE_CHECK_MS = 30 * 60 * 1000

interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>
}

export class AppShell {
  #updateReady = $state(false)
  #updating = $state(false)
  #installable = $state(false)
  #installPrompt: BeforeInstallPromptEvent | undefined
  #workbox: Workbox | undefined

  /** A new version is installed and waits for the person's go-ahead. */
  get updateReady() { return this.#updateReady }
  /** The person accepted the update; running units are finishing. */
  get updating() { return this.#updating }
  /** The browser lets this page offer installation. */
  get installable() { return this.#installable }

  /** Registers the service worker (production builds on a secure origin only) and listens for install prompts. */
  register(): void {
    addEventListener('beforeinstallprompt', (event) => {
      event.preventDefault()
      this.#installPrompt = event as BeforeInstallPromptEvent
      this.#installable = true
    })
    addEventListener('appinstalled', () => {
      this.#installPrompt = undefined
      this.#installable = false
    })
    if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !isSecureContext) return
    const workbox = new Workbox('/sw.js', { scope: '/' })
    this.#workbox = workbox
    workbox.addEventListener('waiting', () => (this.#updateReady = true))
    void workbox.register().catch((error) => console.warn('Service worker registration failed:', error))
    setInterval(() => void this.checkForUpdate(), UPDATE_CHECK_MS)
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.checkForUpdate()
    })
  }

  /** Asks the server whether a new version is deployed. */
  async checkForUpdate(): Promise<void> {
    await this.#workbox?.update().catch(() => undefined)
  }

  /** Applies a waiting update: running units finish first, then the new version takes over and the page reloads. */
  async applyUpdate(contributor: Contributor): Promise<void> {
    if (!this.#workbox || this.#updating) return
    this.#updating = true
    // Whatever happens while the units finish, the update goes ahead: the outbox and the lease buffer are in
    // IndexedDB and survive the reload.
    await Promise.race([contributor.finishForUpdate().catch(() => undefined), sleep(FINISH_WAIT_MS)])
    // The new worker takes over after our go-ahead: then load the new version.
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true })
    const registration = await navigator.serviceWorker.getRegistration()
    // Ask until it has taken over: a message to a worker that is busy (or being replaced) can be lost.
    for (let attempt = 0; attempt < 20 && registration?.waiting; attempt++) {
      registration.waiting.postMessage({ type: SKIP_WAITING })
      await sleep(500)
    }
  }

  /** Shows the browser's install dialog. */
  async install(): Promise<void> {
    const prompt = this.#installPrompt
    if (!prompt) return
    await prompt.prompt()
    const { outcome } = await prompt.userChoice
    if (outcome === 'accepted') this.#installable = false
    this.#installPrompt = undefined
  }
}
