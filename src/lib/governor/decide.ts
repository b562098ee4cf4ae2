/**
 * The governor's decision, as a pure function of what the sensors report and what was decided before: how many
 * workers compute and at what duty (the fraction of each second a worker computes). The Governor class
 * (governor.svelte.ts) feeds it once every 250 ms; tests feed it made-up clocks and sensor readings.
 *
 * Restrictions (battery, CPU pressure) move through three levels, run < reduce < pause. A stricter level takes effect
 * once its condition has held for `pauseGraceMs`; a looser one only after the condition for it has held for
 * `resumeGraceMs`, and any relapse restarts that wait. That is the hysteresis that keeps the pool from flapping
 * (pausing and resuming every few seconds) while pressure hovers at a boundary. Whether the person is using the
 * computer switches limits at once: the idle timeout already is the wait before computing harder, and backing off
 * when someone comes back should not wait.
 */

/** Compute Pressure states (https://w3c.github.io/compute-pressure/#pressure-states). */
export type PressureState = 'nominal' | 'fair' | 'serious' | 'critical'

/** What the Battery Status API reports; `undefined` where the API is missing. */
export interface BatteryReading {
  charging: boolean
  /** 0 to 1. */
  level: number
}

/** Workers and duty for one situation (person using the computer, or idle). */
export interface Limit {
  workers: number
  /** Fraction of the time a worker computes, 0 to 1. */
  duty: number
}

export interface GovernorPolicy {
  /** While the person uses the computer. */
  active: Limit
  /** While the computer is idle. */
  idle: Limit
  /** Battery level (0 to 1) above which computing on battery is allowed; `undefined`: never on battery. @default undefined */
  batteryMinLevel?: number
  /** How long a stricter condition must hold before it takes effect, in ms. @default 500 */
  pauseGraceMs?: number
  /** How long a looser condition must hold before work speeds up again, in ms. @default 5000 */
  resumeGraceMs?: number
}

export interface Readings {
  now: number
  /** No input for the idle time (see governor.svelte.ts for what counts as input). */
  idle: boolean
  /** `undefined` where PressureObserver is missing or has not reported yet. */
  pressure?: PressureState
  battery?: BatteryReading
  /**
   * The sensors have not all reported yet (the page just loaded): a restriction applies at once, without its grace
   * period, since there is nothing to flap from; one slice computed on battery is one too many. @default false
   */
  settling?: boolean
}

export type Level = 'run' | 'reduce' | 'pause'

export interface Decision {
  /** Workers that compute (0 when paused). */
  workers: number
  duty: number
  level: Level
  /** What the UI shows: "Paused: on battery", "Reduced: CPU pressure serious", "Running: computer idle". */
  reason: string
  /** Set while a looser level waits out its grace period: when it may apply (ms, same clock as `now`). */
  resumesAt?: number
}

/** What decide() carries from one call to the next. */
export interface GovernorState {
  level: Level
  reason: string
  /** The stricter or looser level waiting for its grace period, and since when its condition holds. */
  pending?: { level: Level; reason: string; since: number }
}

export const initialState: GovernorState = { level: 'run', reason: '' }

const rank: Record<Level, number> = { run: 0, reduce: 1, pause: 2 }

/** The restriction the readings call for right now, before grace periods. */
export function restriction(readings: Readings, policy: GovernorPolicy): { level: Level; reason: string } {
  const { battery, pressure } = readings
  if (battery && !battery.charging) {
    const min = policy.batteryMinLevel
    if (min === undefined) return { level: 'pause', reason: 'Paused: on battery' }
    if (battery.level < min) {
      return { level: 'pause', reason: `Paused: on battery at ${Math.round(battery.level * 100)} % (below ${Math.round(min * 100)} %)` }
    }
  }
  if (pressure === 'critical') return { level: 'pause', reason: 'Paused: CPU pressure critical' }
  if (pressure === 'serious') return { level: 'reduce', reason: 'Reduced: CPU pressure serious' }
  return { level: 'run', reason: '' }
}

/**
 * When the pending change of `state` takes effect if its condition still holds then (the clock of `readings.now`), or
 * undefined when none is pending: the governor looks again at that moment rather than at its next tick.
 */
export function pendingDueAt(state: GovernorState, policy: GovernorPolicy): number | undefined {
  return state.pending && state.pending.since + graceMs(state.level, state.pending.level, policy)
}

/** How long the condition for moving from level `from` to `to` must hold: the pause grace if stricter, else the resume grace. */
function graceMs(from: Level, to: Level, policy: GovernorPolicy): number {
  return rank[to] > rank[from] ? (policy.pauseGraceMs ?? 500) : (policy.resumeGraceMs ?? 5000)
}

/** One step of the governor: the decision for `readings.now`, and the state for the next call. */
export function decide(readings: Readings, policy: GovernorPolicy, state: GovernorState): { decision: Decision; state: GovernorState } {
  const want = restriction(readings, policy)
  let next: GovernorState
  if (want.level === state.level) {
    // Same level (perhaps a new reason, such as battery then pressure): no wait.
    next = { level: state.level, reason: want.reason }
  } else {
    // The pending change keeps its clock only while the same level is wanted; a relapse restarts it.
    const since = state.pending?.level === want.level ? state.pending.since : readings.now
    const grace = readings.settling ? 0 : graceMs(state.level, want.level, policy)
    next =
      readings.now - since >= grace
        ? { level: want.level, reason: want.reason }
        : { level: state.level, reason: state.reason, pending: { level: want.level, reason: want.reason, since } }
  }

  const base = readings.idle ? policy.idle : policy.active
  const who = readings.idle ? 'computer idle' : 'you are using the computer'
  let workers = Math.max(0, Math.floor(base.workers))
  let duty = clamp01(base.duty)
  let reason = next.reason
  if (next.level === 'pause') {
    workers = 0
    duty = 0
  } else if (next.level === 'reduce') {
    workers = Math.min(workers, Math.max(1, Math.ceil(workers / 2)))
    duty = Math.min(duty, 0.5)
  } else {
    reason = `Running: ${who}`
  }
  if (workers === 0 || duty === 0) {
    workers = 0
    duty = 0
    if (next.level === 'run') reason = `Paused: limits for when ${who} allow no work`
  }
  const decision: Decision = { workers, duty, level: next.level, reason }
  const pending = next.pending
  if (pending && rank[pending.level] < rank[next.level]) decision.resumesAt = pending.since + graceMs(next.level, pending.level, policy)
  return { decision, state: next }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 1
}
