/**
 * The governor: every 250 ms it reads the sensors (is the person using the computer, CPU pressure, battery), asks
 * decide() how many workers may compute and at what duty, and hands a changed decision to `apply` (the contributor,
 * which throttles the worker pool). The sensors listen passively and never prompt for a permission.
 *
 * Idle: where the Idle Detection API is already permitted (it is never requested here: its prompt would be the first
 * thing a visitor sees), idle means the user is idle or the screen is locked, as the system reports. Otherwise this page
 * can only see its own input: idle means the page is visible and has had no pointer, key, wheel or touch input for the
 * idle time. A hidden page counts as in use, because the person is then most likely working in another window and the
 * page cannot tell; computing harder while they cannot see Meshwork is what a good citizen avoids.
 */
import { decide, initialState, pendingDueAt, type BatteryReading, type Decision, type GovernorPolicy, type GovernorState, type PressureState } from './decide.ts'
import type { Settings } from '../settings.svelte.ts'

/** Battery Status API (not in TypeScript's DOM types: Chromium only). */
interface BatteryManager extends EventTarget {
  charging: boolean
  level: number
}

/** Compute Pressure API (not in TypeScript's DOM types yet). */
declare class PressureObserver {
  constructor(callback: (records: { state: PressureState }[]) => void)
  observe(source: 'cpu', options?: { sampleInterval?: number }): Promise<void>
  disconnect(): void
}

/** Idle Detection API (not in TypeScript's DOM types). */
declare class IdleDetector extends EventTarget {
  userState: 'active' | 'idle' | null
  screenState: 'locked' | 'unlocked' | null
  start(options: { threshold: number; signal?: AbortSignal }): Promise<void>
}

const TICK_MS = 250
const INPUT_EVENTS = ['pointermove', 'pointerdown', 'keydown', 'wheel', 'touchstart'] as const

export class Governor {
  #decision = $state<Decision>({ workers: 0, duty: 0, level: 'run', reason: '' })
  #idle = $state(false)
  #idleSource = $state<'idle-detection' | 'page-input'>('page-input')
  /** Last CPU pressure reported; 'unsupported' where PressureObserver is missing or refused. */
  #pressure = $state<PressureState | 'unsupported' | 'waiting'>('waiting')
  #battery = $state<BatteryReading | 'unsupported' | 'waiting'>('waiting')
  #now = $state(0)

  readonly #settings: Settings
  readonly #apply: (decision: Decision) => void
  #state: GovernorState = initialState
  #applied = false
  #lastInput = 0
  #detector: IdleDetector | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  /** A look at the moment a pending change's grace period ends (see pendingDueAt), and that moment. */
  #dueTimer: ReturnType<typeof setTimeout> | undefined
  #dueAt: number | undefined
  #stop = new AbortController()

  readonly #alwaysInUse: boolean

  /**
   * @param settings the person's limits (settings.governor and settings.workers)
   * @param apply receives every changed decision
   * @param options.alwaysInUse for the partner widget, whose frame sees none of the input on the partner's page: no
   *   idle detection, and the limit is the cores the person chose on the widget (settings.workers), at full duty.
   *   Battery and CPU pressure apply as in the app. @default false
   */
  constructor(settings: Settings, apply: (decision: Decision) => void, options: { alwaysInUse?: boolean } = {}) {
    this.#settings = settings
    this.#apply = apply
    this.#alwaysInUse = options.alwaysInUse ?? false
  }

  /** What the pool does now, and why. */
  get decision() { return this.#decision }
  get idle() { return this.#idle }
  /** Where `idle` comes from: the Idle Detection API, or input on this page and its visibility. */
  get idleSource() { return this.#idleSource }
  get pressure() { return this.#pressure }
  get battery() { return this.#battery }
  /** Seconds until a pending resume, if one waits out its grace period. */
  get resumesIn(): number | undefined {
    const at = this.#decision.resumesAt
    return at === undefined ? undefined : Math.max(0, Math.ceil((at - this.#now) / 1000))
  }

  /** Starts the sensors and the 250 ms loop. Idempotent. */
  start(): void {
    if (this.#timer || typeof window === 'undefined') return
    const signal = this.#stop.signal
    this.#lastInput = performance.now()
    const onInput = () => (this.#lastInput = performance.now())
    for (const type of INPUT_EVENTS) window.addEventListener(type, onInput, { passive: true, capture: true, signal })
    // A visibility change is applied at once, not at the next tick.
    document.addEventListener('visibilitychange', () => this.#tick(), { signal })
    void this.#watchPressure()
    void this.#watchBattery()
    void this.#watchIdleDetection()
    this.#timer = setInterval(() => this.#tick(), TICK_MS)
    this.#tick()
  }

  /** Stops the sensors. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    clearTimeout(this.#dueTimer)
    this.#dueTimer = undefined
    this.#dueAt = undefined
    this.#stop.abort()
    this.#stop = new AbortController()
  }

  #policy(): GovernorPolicy {
    const g = this.#settings.governor
    if (this.#alwaysInUse) {
      const chosen = { workers: this.#settings.workers, duty: 1 }
      return { active: chosen, idle: chosen, batteryMinLevel: g.batteryMinPercent === null ? undefined : g.batteryMinPercent / 100 }
    }
    return {
      active: { workers: Math.min(g.activeWorkers, this.#settings.workers), duty: g.activeDutyPercent / 100 },
      idle: { workers: this.#settings.workers, duty: g.idleDutyPercent / 100 },
      batteryMinLevel: g.batteryMinPercent === null ? undefined : g.batteryMinPercent / 100,
    }
  }

  #isIdle(now: number): boolean {
    if (this.#alwaysInUse) return false
    const d = this.#detector
    if (d && d.userState) return d.userState === 'idle' || d.screenState === 'locked'
    return document.visibilityState === 'visible' && now - this.#lastInput >= this.#settings.governor.idleSeconds * 1000
  }

  #tick(): void {
    const now = performance.now()
    this.#now = now
    this.#idle = this.#isIdle(now)
    const pressure = this.#pressure
    const battery = this.#battery
    const { decision, state } = decide(
      {
        now,
        idle: this.#idle,
        pressure: pressure === 'unsupported' || pressure === 'waiting' ? undefined : pressure,
        battery: typeof battery === 'object' ? battery : undefined,
        settling: pressure === 'waiting' || battery === 'waiting',
      },
      this.#policy(),
      this.#state,
    )
    this.#state = state
    // A pause takes effect when its grace period ends, not up to a tick later (critical pressure: within a second of
    // the reading that reported it).
    const due = pendingDueAt(state, this.#policy())
    if (due !== this.#dueAt && this.#timer) {
      clearTimeout(this.#dueTimer)
      this.#dueAt = due
      this.#dueTimer = due === undefined ? undefined : setTimeout(() => this.#tick(), Math.max(0, due - now) + 1)
    }
    const before = this.#decision
    if (before.workers !== decision.workers || before.duty !== decision.duty || before.reason !== decision.reason || before.resumesAt !== decision.resumesAt) {
      this.#decision = decision
    }
    // The first decision is always applied (it may equal the placeholder above, as when the limits allow no work).
    if (!this.#applied || before.workers !== decision.workers || before.duty !== decision.duty) {
      this.#applied = true
      this.#apply(decision)
    }
  }

  async #watchPressure(): Promise<void> {
    if (typeof PressureObserver === 'undefined') {
      this.#pressure = 'unsupported'
      return
    }
    try {
      const observer = new PressureObserver((records) => {
        const last = records.at(-1)
        if (!last) return
        this.#pressure = last.state
        this.#tick()
      })
      await observer.observe('cpu', { sampleInterval: 500 })
      this.#stop.signal.addEventListener('abort', () => observer.disconnect())
    } catch {
      // Not allowed here (a permissions policy in an iframe) or no CPU source on this platform.
      this.#pressure = 'unsupported'
    }
  }

  async #watchBattery(): Promise<void> {
    const nav = navigator as Navigator & { getBattery?: () => Promise<BatteryManager> }
    if (typeof nav.getBattery !== 'function') {
      this.#battery = 'unsupported'
      return
    }
    try {
      const manager = await nav.getBattery()
      const read = () => {
        this.#battery = { charging: manager.charging, level: manager.level }
        this.#tick()
      }
      manager.addEventListener('chargingchange', read, { signal: this.#stop.signal })
      manager.addEventListener('levelchange', read, { signal: this.#stop.signal })
      read()
    } catch {
      this.#battery = 'unsupported'
    }
  }

  async #watchIdleDetection(): Promise<void> {
    if (typeof IdleDetector === 'undefined' || !navigator.permissions) return
    try {
      // Only where the person already granted it: never prompt (see the comment at the top).
      const status = await navigator.permissions.query({ name: 'idle-detection' as PermissionName })
      if (status.state !== 'granted') return
      const detector = new IdleDetector()
      // The API's shortest threshold is 60 s.
      await detector.start({ threshold: Math.max(60, this.#settings.governor.idleSeconds) * 1000, signal: this.#stop.signal })
      this.#detector = detector
      this.#idleSource = 'idle-detection'
      detector.addEventListener('change', () => this.#tick())
    } catch {
      // Not permitted or not supported: page input and visibility it is.
    }
  }
}
