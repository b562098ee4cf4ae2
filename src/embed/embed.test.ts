/** The embed page's query checks and the messages it posts to the partner's page. */
import { describe, expect, it, vi } from 'vitest'
import type { WidgetMessage, WidgetState } from '../../protocol/widget.ts'
import { eventsBetween, startBridge, widgetMessage } from './bridge.ts'
import { MAX_LABEL, parseEmbedParams } from './params.ts'

describe('parseEmbedParams', () => {
  it('takes a valid partner id, a text label and a theme', () => {
    expect(parseEmbedParams('?partner=example-news&label=Example%20News&theme=dark')).toEqual({
      ok: true,
      params: { partner: 'example-news', label: 'Example News', theme: 'dark' },
    })
    expect(parseEmbedParams('?partner=blog-2')).toEqual({ ok: true, params: { partner: 'blog-2', label: 'blog-2', theme: 'auto' } })
    const long = parseEmbedParams(`?partner=x&label=${'a'.repeat(500)}%0A`)
    expect(long.ok && long.params.label).toHaveLength(MAX_LABEL)
  })

  it('refuses to run without a valid partner id, saying why', () => {
    expect(parseEmbedParams('')).toEqual({ ok: false, message: 'This widget has no partner id: the page must set data-partner on its element.' })
    expect(parseEmbedParams('?partner=Bad%20Id')).toEqual({ ok: false, message: 'The partner id "Bad Id" is not valid: it must be 1 to 64 of a-z 0-9 -.' })
  })
})

const idle: WidgetState = { running: false, unitsDone: 0, progress: 0, creditFlops: 0 }

describe('the bridge to the partner page', () => {
  it('posts started, progress, credit and stopped as the state changes', () => {
    expect(eventsBetween(idle, { ...idle, running: true })).toEqual(['started'])
    expect(eventsBetween({ ...idle, running: true }, { ...idle, running: true, progress: 0.005 })).toEqual([])
    expect(eventsBetween({ ...idle, running: true }, { ...idle, running: true, progress: 0.4 })).toEqual(['progress'])
    expect(eventsBetween({ ...idle, running: true, progress: 0.9 }, { ...idle, running: true, unitsDone: 1, progress: 0.1, creditFlops: 5 })).toEqual([
      'progress',
      'credit',
    ])
    expect(eventsBetween({ ...idle, running: true, progress: 0.5 }, idle)).toEqual(['stopped', 'progress'])
  })

  it('sends exactly the harmless fields', () => {
    const state = { running: true, unitsDone: 2, progress: 1.5, creditFlops: 16e6, deviceId: 'secret' } as WidgetState
    expect(widgetMessage('credit', state)).toEqual({ source: 'meshwork', type: 'credit', running: true, unitsDone: 2, progress: 1, creditFlops: 16e6 })
  })

  it('compares the state on a timer, the first reading being the baseline', () => {
    vi.useFakeTimers()
    try {
      let state: WidgetState = { ...idle, creditFlops: 10 }
      const posted: WidgetMessage[] = []
      const stop = startBridge(() => state, { post: (m) => posted.push(m), intervalMs: 100 })
      vi.advanceTimersByTime(300)
      expect(posted).toEqual([])
      state = { ...state, running: true }
      vi.advanceTimersByTime(100)
      expect(posted.map((m) => m.type)).toEqual(['started'])
      stop()
      state = idle
      vi.advanceTimersByTime(500)
      expect(posted).toHaveLength(1)
    } finally {
      vi.useRealTimers()
    }
  })
})
