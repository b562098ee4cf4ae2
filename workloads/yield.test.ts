import { afterEach, describe, expect, it } from 'vitest'
import { createYielder, interruptPause, setDuty } from './yield.ts'

/** Computes in ~2 ms slices for `ms`, yielding between them; returns the fraction of the wall time spent computing. */
async function busyFraction(ms: number): Promise<number> {
  const yielder = createYielder()
  const start = performance.now()
  let busy = 0
  while (performance.now() - start < ms) {
    const s = performance.now()
    while (performance.now() - s < 2);
    busy += performance.now() - s
    await yielder.yieldNow()
  }
  yielder.close()
  return busy / (performance.now() - start)
}

describe('duty cycle', () => {
  afterEach(() => setDuty(1))

  it('computes about half the time at duty 0.5, and all of it at 1', async () => {
    expect(await busyFraction(300)).toBeGreaterThan(0.9)
    setDuty(0.5)
    const half = await busyFraction(600)
    // Loose bounds: the CI machine is shared, and timers there are late now and then.
    expect(half).toBeGreaterThan(0.3)
    expect(half).toBeLessThan(0.6)
  })

  it('keeps a low duty exact with long slices: all the sleep owed is slept, in steps that see a new duty', async () => {
    setDuty(0.05)
    const yielder = createYielder()
    const s = performance.now()
    while (performance.now() - s < 20);
    // 20 ms of work at 5 % owes 380 ms of sleep (not a single capped 100 ms step).
    const before = performance.now()
    await yielder.yieldNow()
    expect(performance.now() - before).toBeGreaterThan(300)
    // A duty raised mid-sleep ends it within a step (100 ms).
    const s2 = performance.now()
    while (performance.now() - s2 < 20);
    const sleeping = performance.now()
    const done = yielder.yieldNow()
    setTimeout(() => setDuty(1), 50)
    await done
    expect(performance.now() - sleeping).toBeLessThan(250)
    yielder.close()
  })

  it('holds a kernel at duty 0 until the duty rises, and lets it look for a cancel when interrupted', async () => {
    setDuty(0)
    const yielder = createYielder()
    let woke = false
    const waiting = yielder.yieldNow().then(() => (woke = true))
    await new Promise((r) => setTimeout(r, 50))
    expect(woke).toBe(false)
    interruptPause()
    await waiting
    expect(woke).toBe(true)
    woke = false
    const again = yielder.yieldNow().then(() => (woke = true))
    await new Promise((r) => setTimeout(r, 20))
    expect(woke).toBe(false)
    setDuty(1)
    await again
    yielder.close()
  })
})
