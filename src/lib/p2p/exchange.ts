/**
 * BLOB_PROTOCOL (/meshwork/blobs/1.0.0): one stream per blob. The asking peer writes a length-prefixed JSON
 * BlobRequest; the serving peer answers with a length-prefixed JSON BlobResponse and, on `ok`, exactly `size` bytes in
 * length-prefixed chunks of at most BLOB_CHUNK_BYTES, waiting for the channel to drain when it is full (WebRTC data
 * channels buffer up to 16 MB before they push back). The asking peer checks the size as the bytes arrive and the hash
 * at the end: nothing unverified leaves this module.
 */
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { sha256Hex } from '../../../protocol/index.ts'
import {
  BLOB_CHUNK_BYTES,
  BlobRequest,
  BlobResponse,
  MAX_P2P_MESSAGE_BYTES,
  MAX_PEER_BLOB_BYTES,
} from '../../../protocol/p2p.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const MAX_LP_BYTES = Math.max(BLOB_CHUNK_BYTES, MAX_P2P_MESSAGE_BYTES)

/** Why a peer could not deliver a blob; `misbehaved` means it sent wrong or malformed bytes (drop it). */
export class PeerFetchError extends Error {
  constructor(
    message: string,
    readonly misbehaved: boolean,
  ) {
    super(message)
    this.name = 'PeerFetchError'
  }
}

function json(bytes: Uint8Array): unknown {
  if (bytes.byteLength > MAX_P2P_MESSAGE_BYTES) throw new PeerFetchError(`message of ${bytes.byteLength} bytes exceeds ${MAX_P2P_MESSAGE_BYTES}`, true)
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    throw new PeerFetchError('message is not JSON', true)
  }
}

export interface ServeBlobOptions {
  /** The bytes of a blob this device holds, or undefined. */
  read: (hash: string) => Promise<Uint8Array | undefined>
  /** Called with the bytes written once a blob has been served in full. */
  onServed?: (hash: string, bytes: number) => void
  signal?: AbortSignal
}

/** Serves one inbound BLOB_PROTOCOL stream. */
export async function serveBlob(stream: Stream, { read, onServed, signal }: ServeBlobOptions): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_LP_BYTES })
  try {
    const parsed = BlobRequest.safeParse(json((await lp.read({ signal })).subarray()))
    if (!parsed.success) {
      await lp.write(encoder.encode(JSON.stringify({ ok: false, code: 'bad_request', message: 'expected {"v":1,"hash":"<sha256 hex>"}' } satisfies BlobResponse)))
      await stream.close()
      return
    }
    const bytes = await read(parsed.data.hash)
    if (!bytes || bytes.byteLength > MAX_PEER_BLOB_BYTES) {
      await lp.write(encoder.encode(JSON.stringify({ ok: false, code: 'not_found', message: 'this peer does not hold that blob' } satisfies BlobResponse)))
      await stream.close()
      return
    }
    await lp.write(encoder.encode(JSON.stringify({ ok: true, size: bytes.byteLength } satisfies BlobResponse)), { signal })
    for (let offset = 0; offset < bytes.byteLength; offset += BLOB_CHUNK_BYTES) {
      // write() waits for 'drain' whenever the channel reports it is full.
      await lp.write(bytes.subarray(offset, Math.min(bytes.byteLength, offset + BLOB_CHUNK_BYTES)), { signal })
    }
    await stream.close({ signal })
    onServed?.(parsed.data.hash, bytes.byteLength)
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
  }
}

export interface FetchBlobOptions {
  /** Gives up when the first byte takes longer than this. @default 6000 */
  firstByteTimeoutMs?: number
  /** Gives up when the transfer is slower than this on average (bytes/s), after the first second. @default 250 KB/s (a busy peer is still cheaper than the hub) */
  minBytesPerSecond?: number
  onProgress?: (received: number, size: number) => void
  signal?: AbortSignal
}

/** Asks a peer for `hash` on an open stream; resolves to bytes whose SHA-256 is `hash`, or throws PeerFetchError. */
export async function fetchBlob(stream: Stream, hash: string, options: FetchBlobOptions = {}): Promise<Uint8Array> {
  const { firstByteTimeoutMs = 6000, minBytesPerSecond = 250_000, onProgress, signal } = options
  const controller = new AbortController()
  const abort = () => controller.abort(signal?.reason)
  signal?.addEventListener('abort', abort, { once: true })
  let timer = setTimeout(() => controller.abort(new PeerFetchError(`no answer within ${firstByteTimeoutMs} ms`, false)), firstByteTimeoutMs)
  const lp = lpStream(stream, { maxDataLength: MAX_LP_BYTES })
  try {
    await lp.write(encoder.encode(JSON.stringify({ v: 1, hash } satisfies BlobRequest)), { signal: controller.signal })
    const header = BlobResponse.safeParse(json((await lp.read({ signal: controller.signal })).subarray()))
    if (!header.success) throw new PeerFetchError('malformed response header', true)
    if (!header.data.ok) throw new PeerFetchError(`${header.data.code}: ${header.data.message}`, false)
    const size = header.data.size
    clearTimeout(timer)
    // The slowest acceptable transfer, plus a second of slack for setup.
    const deadlineMs = 1000 + (size / minBytesPerSecond) * 1000
    timer = setTimeout(() => controller.abort(new PeerFetchError(`slower than ${minBytesPerSecond} B/s`, false)), deadlineMs)
    const out = new Uint8Array(size)
    let received = 0
    while (received < size) {
      const chunk = await lp.read({ signal: controller.signal })
      if (chunk.byteLength > BLOB_CHUNK_BYTES || received + chunk.byteLength > size) {
        throw new PeerFetchError('sent more bytes than announced', true)
      }
      out.set(chunk.subarray(), received)
      received += chunk.byteLength
      onProgress?.(received, size)
    }
    if ((await sha256Hex(out)) !== hash) throw new PeerFetchError('bytes do not match their hash', true)
    await stream.close().catch(() => undefined)
    return out
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    if (error instanceof PeerFetchError) throw error
    const reason: unknown = controller.signal.reason
    if (reason instanceof PeerFetchError) throw reason
    throw new PeerFetchError(error instanceof Error ? error.message : String(error), false)
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', abort)
  }
}
