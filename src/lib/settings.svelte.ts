/** The person's settings, kept in localStorage. */

export type BackendChoice = 'auto' | 'cpu' | 'webgpu'

const STORAGE_KEY = 'meshwork.settings.v1'

interface Persisted {
  workers: number
  backend: BackendChoice
}

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

export class Settings {
  /** Workers (cores) Meshwork may use. @default half the cores, at least 1 */
  #workers = $state(Math.max(1, Math.floor(hardwareCores() / 2)))
  /** Which compute backend runs units. @default 'auto' (WebGPU on a real GPU, else CPU) */
  #backend = $state<BackendChoice>('auto')

  constructor() {
    const saved = load()
    if (typeof saved.workers === 'number' && saved.workers >= 1) this.#workers = Math.min(hardwareCores(), Math.floor(saved.workers))
    if (saved.backend === 'auto' || saved.backend === 'cpu' || saved.backend === 'webgpu') this.#backend = saved.backend
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
    globalThis.localStorage?.setItem(STORAGE_KEY, JSON.stringify({ workers: this.#workers, backend: this.#backend } satisfies Persisted))
  }
}

export const settings = new Settings()
