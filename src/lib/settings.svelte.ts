/** The person's settings, kept in localStorage. */

export type BackendChoice = 'auto' | 'cpu' | 'webgpu'

const STORAGE_KEY = 'meshwork.settings.v1'

interface Persisted {
  workers: number
  backend: BackendChoice
  cacheMB: number
  peers: boolean
  governor: GovernorSettings
}

/** The governor's limits (src/lib/governor/). The idle limit's workers are `workers` above. */
export interface GovernorSettings {
  /** Seconds without input before the computer counts as idle. @default 60 */
  idleSeconds: number
  /** Workers while the person uses the computer. @default 1 */
  activeWorkers: number
  /** Duty (percent of the time computing) while the person uses the computer. @default 50 */
  activeDutyPercent: number
  /** Duty while idle. @default 100 */
  idleDutyPercent: number
  /** Battery percent above which computing on battery is allowed; null: never on battery. @default null */
  batteryMinPercent: number | null
}

export const GOVERNOR_DEFAULTS: GovernorSettings = { idleSeconds: 60, activeWorkers: 1, activeDutyPercent: 50, idleDutyPercent: 100, batteryMinPercent: null }

const clampInt = (x: unknown, min: number, max: number, fallback: number): number =>
  typeof x === 'number' && Number.isFinite(x) ? Math.min(max, Math.max(min, Math.round(x))) : fallback

/** A valid GovernorSettings from whatever was stored (out-of-range values are clamped, missing ones defaulted). */
function governorFrom(saved: Partial<GovernorSettings> | undefined): GovernorSettings {
  const d = GOVERNOR_DEFAULTS
  const battery = saved?.batteryMinPercent
  return {
    idleSeconds: clampInt(saved?.idleSeconds, 1, 3600, d.idleSeconds),
    activeWorkers: clampInt(saved?.activeWorkers, 0, hardwareCores(), d.activeWorkers),
    activeDutyPercent: clampInt(saved?.activeDutyPercent, 0, 100, d.activeDutyPercent),
    idleDutyPercent: clampInt(saved?.idleDutyPercent, 5, 100, d.idleDutyPercent),
    batteryMinPercent: typeof battery === 'number' ? clampInt(battery, 0, 100, 50) : null,
  }
}

/** Bounds of the input cache setting, in MB. */
export const CACHE_MB = { min: 16, max: 4096, default: 512 } as const

/** Logical cores the browser reports (at least 1). */
export function hardwareCores(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1)
}

function load(): Partial<Persisted> {
  try {
    return JSON.parse(globalThis.localStorage?.getItem(STORAGE_KEY) ?? '{}') as Partial<Persisted>
  } catch {
    return {}
  }
}

function clampCache(mb: number): number {
  return Number.isFinite(mb) ? Math.min(CACHE_MB.max, Math.max(CACHE_MB.min, Math.round(mb))) : CACHE_MB.default
}

export class Settings {
  /** Workers (cores) Meshwork may use. @default half the cores, at least 1 */
  #workers = $state(Math.max(1, Math.floor(hardwareCores() / 2)))
  /** Which compute backend runs units. @default 'auto' (WebGPU on a real GPU, else CPU) */
  #backend = $state<BackendChoice>('auto')
  /** Disk for verified inputs (served to peers too), in MB. @default 512 */
  #cacheMB = $state<number>(CACHE_MB.default)
  /** Share inputs with other volunteers over WebRTC. @default true */
  #peers = $state(true)
  /** Limits while in use and while idle, and on battery. @default GOVERNOR_DEFAULTS */
  #governor = $state<GovernorSettings>({ ...GOVERNOR_DEFAULTS })

  constructor() {
    const saved = load()
    if (typeof saved.workers === 'number' && saved.workers >= 1) this.#workers = Math.min(hardwareCores(), Math.floor(saved.workers))
    if (saved.backend === 'auto' || saved.backend === 'cpu' || saved.backend === 'webgpu') this.#backend = saved.backend
    if (typeof saved.cacheMB === 'number') this.#cacheMB = clampCache(saved.cacheMB)
    if (typeof saved.peers === 'boolean') this.#peers = saved.peers
    this.#governor = governorFrom(saved.governor)
  }

  get governor(): GovernorSettings {
    return this.#governor
  }
  /** Replaces some of the governor's limits (clamped to their ranges). */
  setGovernor(change: Partial<GovernorSettings>): void {
    this.#governor = governorFrom({ ...this.#governor, ...change })
    this.#save()
  }

  get cacheMB(): number {
    return this.#cacheMB
  }
  set cacheMB(value: number) {
    this.#cacheMB = clampCache(value)
    this.#save()
  }

  get peers(): boolean {
    return this.#peers
  }
  set peers(value: boolean) {
    this.#peers = value
    this.#save()
  }

  get workers(): number {
    return this.#workers
  }
  set workers(value: number) {
    this.#workers = Math.min(hardwareCores(), Math.max(1, Math.round(value)))
    this.#save()
  }

  get backend(): BackendChoice {
    return this.#backend
  }
  set backend(value: BackendChoice) {
    this.#backend = value
    this.#save()
  }

  get maxWorkers(): number {
    return hardwareCores()
  }

  #save(): void {
    globalThis.localStorage?.setItem(STORAGE_KEY, JSON.stringify({ workers: this.#workers, backend: this.#backend, cacheMB: this.#cacheMB, peers: this.#peers, governor: this.#governor } satisfies Persisted))
  }
}

export const settings = new Settings()
