/**
 * The partner widget's state: the app's own Contributor (same worker pool, compute runtime, outbox and uploader),
 * created with the partner id so leases and results carry it, and without the peer network (the widget stays small
 * and a partner's visitors stay a short while). Its device key and outbox live in this iframe's storage, which browsers
 * partition per top-level site: they are the widget's own on each partner site, apart from the app's.
 */
import type { CurrentWork } from '../../protocol/schemas.ts'
import type { WidgetState } from '../../protocol/widget.ts'
import { Contributor } from '../lib/contribute/index.ts'
import { Governor } from '../lib/governor/index.ts'
import { HubClient } from '../lib/hub/client.ts'
import { settings, type Settings } from '../lib/settings.svelte.ts'
import { openMeshworkDB } from '../lib/storage/index.ts'
import type { EmbedParams } from './params.ts'

/** How often the card asks the hub what runs. */
const JOB_REFRESH_MS = 30_000

export class EmbedWidget {
  readonly params: EmbedParams
  readonly settings: Settings = settings
  readonly contributor: Contributor
  /**
   * The same governor as the app's (battery, CPU pressure, duty), always at the in-use limits: the frame cannot see
   * whether the person is using the partner's page.
   */
  readonly governor: Governor
  #job = $state<CurrentWork['job'] | undefined>(undefined)
  #storageBlocked = $state(false)
  #jobTimer: ReturnType<typeof setInterval> | undefined
  readonly #hub = new HubClient(undefined)

  constructor(params: EmbedParams) {
    this.params = params
    this.contributor = new Contributor(settings, undefined, '', params.partner)
    this.governor = new Governor(settings, (d) => this.contributor.throttle(d.workers, d.duty), { alwaysInUse: true })
  }

  /** The hub's current job; `undefined` while loading, `null` when there is no work. */
  get job() { return this.#job }

  /**
   * The browser refuses this frame any storage (no partitioned storage for embedded sites, and third-party data
   * blocked), so there is nowhere to keep a device key or finished results: the widget cannot contribute here.
   */
  get storageBlocked() { return this.#storageBlocked }

  /** Mean progress of the units computing now (0 when none). */
  get progress(): number {
    const computing = this.contributor.tasks.filter((t) => t.phase === 'computing')
    return computing.length ? computing.reduce((sum, t) => sum + t.progress, 0) / computing.length : 0
  }

  /** What the partner's page may know (see protocol/widget.ts). */
  state(): WidgetState {
    return {
      running: this.contributor.running,
      unitsDone: this.contributor.completed,
      progress: this.contributor.running ? this.progress : 0,
      creditFlops: this.contributor.summary?.creditFlops ?? 0,
    }
  }

  /**
   * On load: uploads results a previous visit left in the outbox (the partner's page may have been closed before they
   * went out), shows this widget's credit, and asks what runs. Computes nothing: only Start does.
   */
  load(): void {
    this.governor.start()
    openMeshworkDB().then(
      () => this.contributor.resume(),
      () => (this.#storageBlocked = true),
    )
    void this.refreshJob()
    this.#jobTimer ??= setInterval(() => void this.refreshJob(), JOB_REFRESH_MS)
  }

  async refreshJob(): Promise<void> {
    try {
      this.#job = (await this.#hub.currentWork()).job
    } catch {
      // Hub unreachable: keep what was shown; the contributor's status says so when it matters.
      this.#job ??= null
    }
  }
}
