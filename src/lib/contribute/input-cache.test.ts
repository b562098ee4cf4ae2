import { describe, expect, it } from 'vitest'
import { InputCache } from './input-cache.ts'

describe('input cache', () => {
  it('fetches a blob once for concurrent users and evicts the least recently used past its cap', async () => {
    const cache = new InputCache(250)
    const fetched: string[] = []
    const fetcher = async (hash: string) => {
      fetched.push(hash)
      return new Blob([new Uint8Array(100)])
    }
    await Promise.all([cache.get('a', fetcher), cache.get('a', fetcher)])
    await cache.get('b', fetcher)
    await cache.get('a', fetcher) // a is now the most recent
    await cache.get('c', fetcher) // 300 bytes > 250: b goes
    await cache.get('a', fetcher)
    await cache.get('b', fetcher)
    expect(fetched).toEqual(['a', 'b', 'c', 'b'])
  })

  it('forgets a failed fetch so the next caller retries', async () => {
    const cache = new InputCache()
    await expect(cache.get('x', () => Promise.reject(new Error('offline')))).rejects.toThrow('offline')
    expect((await cache.get('x', async () => new Blob([new Uint8Array(1)]))).size).toBe(1)
  })
})
