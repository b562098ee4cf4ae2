/**
 * The volunteer's side of `/api/v1`: signed requests with the device key, responses parsed with the protocol's
 * schemas, failures turned into `MeshworkError`s (network failures and 5xx are transient, 4xx permanent). Only
 * WebCrypto and fetch, so the benchmark's simulated volunteers use it from Node unchanged.
 */
import type { z } from 'zod'
import {
  API_PREFIX,
  BatchAck,
  CreditHistory,
  CurrentWork,
  HubConfig,
  LeaseResponse,
  MeshworkError,
  SubmitAck,
  VolunteerResults,
  VolunteerSummary,
  WireErrorSchema,
  errorFromWire,
  sha256Hex,
  signRequest,
  toBase64,
  type Backend,
  type ResultSubmission,
  type DeviceKey,
} from '../../../protocol/index.ts'
import { P2PConfig, ReceiptAck, type BandwidthReceipt, type ReceiptSubmission } from '../../../protocol/p2p.ts'
import { RewardsInfo, RewardVoucher, SESSION_HEADER, SiweNonce, WalletSession, WalletStatus, type SignInRequest } from '../../../protocol/wallet.ts'

export interface HubClientOptions {
  /** Origin of the hub, e.g. `http://127.0.0.1:8080`. @default '' (same origin) */
  baseUrl?: string
  /** @default globalThis.fetch */
  fetch?: typeof fetch
  /** The partner site whose widget leases through this client (protocol/widget.ts). @default undefined (none) */
  partner?: string
}

export interface SubmitParameters {
  resultId: string
  unitId: string
  output: Uint8Array
  elapsedMs: number
  backend: Backend
  /** The partner the unit was leased through, if any. */
  partner?: string
}

/** A result as the hub's `ResultSubmission` wants it. */
function submission({ resultId, unitId, output, elapsedMs, backend, partner }: SubmitParameters): ResultSubmission {
  return { resultId, unitId, output: toBase64(output), elapsedMs: Math.round(elapsedMs), backend, ...(partner ? { partner } : {}) }
}

/** A signed client for one device. */
export class HubClient {
  readonly #key: DeviceKey | undefined
  readonly #base: string
  readonly #fetch: typeof fetch
  readonly #partner: string | undefined

  constructor(key: DeviceKey | undefined, options: HubClientOptions = {}) {
    this.#key = key
    this.#base = options.baseUrl ?? ''
    this.#partner = options.partner
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  }

  /** Public hub configuration (workloads, credit unit). */
  config(): Promise<HubConfig> {
    return this.#json('GET', '/config', HubConfig, undefined, false)
  }

  /** The job new units come from now (what would run), or `job: null`. */
  currentWork(): Promise<CurrentWork> {
    return this.#json('GET', '/work/current', CurrentWork, undefined, false)
  }

  /** Leases up to `max` units this device can run. */
  lease(max: number, backends: Backend[]): Promise<LeaseResponse> {
    return this.#json('POST', '/work/lease', LeaseResponse, { max, backends, ...(this.#partner ? { partner: this.#partner } : {}) })
  }

  /** Uploads one result; resolves only once the hub has durably stored it. */
  submit(result: SubmitParameters): Promise<SubmitAck> {
    return this.#json('POST', '/results', SubmitAck, submission(result))
  }

  /**
   * Uploads several results in one request (`POST /results/batch`); resolves, once every accepted one is durably
   * stored, with an answer per result in order. Keep the batch within MAX_BATCH_RESULTS and MAX_RESULT_BODY_BYTES.
   */
  submitBatch(results: SubmitParameters[]): Promise<BatchAck> {
    return this.#json('POST', '/results/batch', BatchAck, { results: results.map(submission) })
  }

  /** Counts and verified credit of this device. */
  summary(): Promise<VolunteerSummary> {
    return this.#json('GET', '/volunteer/summary', VolunteerSummary)
  }

  /** This device's most recent results, newest first. */
  results(limit = 50): Promise<VolunteerResults> {
    return this.#json('GET', `/volunteer/results?limit=${limit}`, VolunteerResults)
  }

  /** This device's credit ledger entries, oldest first. */
  credit(): Promise<CreditHistory> {
    return this.#json('GET', '/volunteer/credit', CreditHistory)
  }

  /** The hub's libp2p node: relay addresses, pub/sub topic, ICE servers. */
  p2p(): Promise<P2PConfig> {
    return this.#json('GET', '/p2p', P2PConfig, undefined, false)
  }

  /** Uploads signed bandwidth receipts for peers that served this device; one verdict per receipt. */
  receipts(receipts: BandwidthReceipt[]): Promise<ReceiptAck> {
    return this.#json('POST', '/receipts', ReceiptAck, { receipts } satisfies ReceiptSubmission)
  }

  /** The hub's reward token (chain, contract, rate), or `enabled: false`. */
  rewards(): Promise<RewardsInfo> {
    return this.#json('GET', '/rewards', RewardsInfo, undefined, false)
  }

  /** A single-use nonce for the next Sign-In with Ethereum message. */
  async siweNonce(): Promise<string> {
    return (await this.#json('GET', '/auth/nonce', SiweNonce, undefined, false)).nonce
  }

  /** Sends a signed EIP-4361 message; the hub opens a session for its address and links this device to it. */
  signIn(request: SignInRequest): Promise<WalletSession> {
    return this.#json('POST', '/auth/siwe', WalletSession, request)
  }

  /** The signed-in wallet's linked devices and verified credit. */
  wallet(sessionToken: string): Promise<WalletStatus> {
    return this.#json('GET', '/wallet', WalletStatus, undefined, false, { [SESSION_HEADER]: sessionToken })
  }

  /** A voucher for the signed-in wallet's cumulative verified credit, to submit to the reward contract. */
  voucher(sessionToken: string): Promise<RewardVoucher> {
    return this.#json('POST', '/wallet/voucher', RewardVoucher, undefined, false, { [SESSION_HEADER]: sessionToken })
  }

  /** Fetches an input blob and checks it against its hash before anyone uses it. */
  async blob(hash: string): Promise<Uint8Array> {
    const response = await this.#send('GET', `/blobs/${hash}`, undefined, false)
    const bytes = new Uint8Array(await response.arrayBuffer())
    const actual = await sha256Hex(bytes)
    if (actual !== hash) {
      throw new MeshworkError(`Blob ${hash.slice(0, 12)}… arrived corrupted (its bytes hash to ${actual.slice(0, 12)}…).`, {
        code: 'network',
        transient: true,
      })
    }
    return bytes
  }

  async #json<T>(
    method: string,
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
    signed = true,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const response = await this.#send(method, path, body === undefined ? undefined : JSON.stringify(body), signed, extraHeaders)
    const parsed = schema.safeParse(await response.json())
    if (!parsed.success) {
      throw new MeshworkError(`The hub's answer to ${method} ${path} did not match the protocol.`, {
        code: 'internal',
        details: parsed.error.message,
        transient: true,
      })
    }
    return parsed.data
  }

  async #send(method: string, path: string, body: string | undefined, signed = true, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const fullPath = `${API_PREFIX}${path}`
    const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(body)
    const headers: Record<string, string> = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extraHeaders }
    if (signed) {
      if (!this.#key) throw new MeshworkError(`${method} ${path} needs a device key.`, { code: 'unauthorized' })
      Object.assign(headers, await signRequest(this.#key, { method, path: fullPath, body: bytes }))
    }
    let response: Response
    try {
      response = await this.#fetch(`${this.#base}${fullPath}`, { method, headers, body: body === undefined ? undefined : bytes })
    } catch (cause) {
      throw new MeshworkError(`Could not reach the hub for ${method} ${path}.`, { code: 'network', cause, transient: true })
    }
    if (response.ok) return response
    const payload = await response.json().catch(() => undefined)
    const wire = WireErrorSchema.safeParse(payload)
    const retryAfter = Number(response.headers.get('retry-after'))
    const retryAfterMs = retryAfter > 0 ? retryAfter * 1000 : undefined
    if (wire.success) throw errorFromWire({ ...wire.data, code: wire.data.code as never }, response.status, retryAfterMs)
    throw new MeshworkError(`The hub answered ${method} ${path} with HTTP ${response.status}.`, {
      code: response.status >= 500 ? 'unavailable' : 'bad_request',
      transient: response.status >= 500,
    })
  }
}
