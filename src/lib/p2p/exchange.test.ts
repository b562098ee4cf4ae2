/**
 * The blob protocol over a real in-memory libp2p stream pair (yamux-free, but the same Stream API and backpressure
 * the WebRTC transport gives): the asking side gets exactly the verified bytes, or a PeerFetchError saying whether
 * the serving peer misbehaved.
 */
import { streamPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../../protocol/index.ts'
import { fetchBlob, PeerFetchError, serveBlob } from './exchange.ts'

function blob(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
  return out
}

async function exchange(stored: Map<string, Uint8Array>, hash: string) {
  const [asker, server] = await streamPair()
  const served: number[] = []
  const serving = serveBlob(server, { read: async (h) => stored.get(h), onServed: (_h, n) => served.push(n) })
  try {
    return { bytes: await fetchBlob(asker, hash), served }
  } finally {
    await serving
  }
}

describe('blob exchange between two peers', () => {
  it('delivers a multi-chunk blob whose hash checks', async () => {
    const bytes = blob(1_000_003)
    const hash = await sha256Hex(bytes)
    const { bytes: got, served } = await exchange(new Map([[hash, bytes]]), hash)
    expect(got).toEqual(bytes)
    expect(served).toEqual([bytes.byteLength])
  })

  it('detects corrupted bytes and blames the serving peer', async () => {
    const bytes = blob(200_000)
    const hash = await sha256Hex(bytes)
    const corrupted = bytes.slice()
    corrupted[123_456] ^= 1
    const error = await exchange(new Map([[hash, corrupted]]), hash).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PeerFetchError)
    expect(error).toMatchObject({ misbehaved: true, message: 'bytes do not match their hash' })
  })

  it('reports a blob the peer does not hold without blaming it', async () => {
    const hash = 'c'.repeat(64)
    const error = await exchange(new Map(), hash).catch((e: unknown) => e)
    expect(error).toMatchObject({ misbehaved: false, message: expect.stringMatching(/^not_found/) })
  })
})
