/** The loader's reading of a partner's element and of the embed page's messages (widget/options.ts). */
import { describe, expect, it } from 'vitest'
import { HEIGHT, embedUrl, readMessage, readOptions } from './options.ts'

const attrs = (values: Record<string, string>) => (name: string) => values[name] ?? null

describe('readOptions', () => {
  it('reads the partner, label, theme and height, with defaults', () => {
    expect(readOptions(attrs({ 'data-partner': 'example-news', 'data-label': ' Example News ', 'data-theme': 'dark', 'data-height': '300' }))).toEqual({
      ok: true,
      options: { partner: 'example-news', label: 'Example News', theme: 'dark', height: 300 },
    })
    expect(readOptions(attrs({ 'data-partner': 'blog-2' }))).toEqual({
      ok: true,
      options: { partner: 'blog-2', label: 'blog-2', theme: 'auto', height: undefined },
    })
    const clamped = readOptions(attrs({ 'data-partner': 'x', 'data-height': '5000', 'data-theme': 'neon' }))
    expect(clamped.ok && clamped.options).toMatchObject({ height: HEIGHT.max, theme: 'auto' })
  })

  it('refuses a missing or malformed partner id, naming the attribute', () => {
    for (const partner of [undefined, '', 'Example', 'a b', 'x'.repeat(65), 'news"><script>']) {
      const read = readOptions(attrs(partner === undefined ? {} : { 'data-partner': partner }))
      expect(read.ok).toBe(false)
      expect(!read.ok && read.message).toMatch(/^data-partner must be 1 to 64 of a-z 0-9 -/)
    }
  })
})

describe('embedUrl', () => {
  it('puts every option in the query, encoded', () => {
    const url = new URL(embedUrl('http://127.0.0.1:8080', { partner: 'example-news', label: 'News & <Co>', theme: 'auto', height: undefined }))
    expect(url.origin + url.pathname).toBe('http://127.0.0.1:8080/embed.html')
    expect(Object.fromEntries(url.searchParams)).toEqual({ partner: 'example-news', label: 'News & <Co>', theme: 'auto' })
  })
})

describe('readMessage', () => {
  it('turns widget events into a detail with only the known fields', () => {
    expect(readMessage({ source: 'meshwork', type: 'credit', running: true, unitsDone: 3, progress: 0.5, creditFlops: 8e6, deviceId: 'leak' })).toEqual({
      kind: 'event',
      type: 'credit',
      detail: { running: true, unitsDone: 3, progress: 0.5, creditFlops: 8e6 },
    })
    expect(readMessage({ source: 'meshwork', type: 'started', running: 'yes', unitsDone: '4', progress: NaN })).toEqual({
      kind: 'event',
      type: 'started',
      detail: { running: false, unitsDone: 0, progress: 0, creditFlops: 0 },
    })
  })

  it('bounds the card height and ignores everything else', () => {
    expect(readMessage({ source: 'meshwork', type: 'resize', height: 99999 })).toEqual({ kind: 'resize', height: HEIGHT.max })
    for (const data of [null, 'started', 42, { type: 'started' }, { source: 'other', type: 'started' }, { source: 'meshwork', type: 'start' }]) {
      expect(readMessage(data)).toBeUndefined()
    }
  })
})
