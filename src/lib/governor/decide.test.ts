import { describe, expect, it } from 'vitest'
import { decide, initialState, pendingDueAt, type GovernorPolicy, type GovernorState, type Readings } from './decide.ts'

const policy: GovernorPolicy = {
  active: { workers: 1, duty: 0.5 },
  idle: { workers: 4, duty: 1 },
  pauseGraceMs: 750,
  resumeGraceMs: 5000,
}

/** Runs decide over a timeline of readings, returning every decision. */
function run(steps: Omit<Readings, 'idle'>[], idle = true, p = policy) {
  let state: GovernorState = initialState
  return steps.map((r) => {
    const out = decide({ idle, ...r }, p, state)
    state = out.state
    return out.decision
  })
}

describe('decide', () => {
  it('says when a pending change is due: the pause grace after a stricter condition starts, the resume grace after a looser one', () => {
    expect(pendingDueAt(initialState, policy)).toBeUndefined()
    const critical = decide({ now: 1000, idle: true, pressure: 'critical' }, policy, initialState).state
    expect(pendingDueAt(critical, policy)).toBe(1750)
    // At that moment the pause takes effect and nothing is pending any more.
    const paused = decide({ now: 1750, idle: true, pressure: 'critical' }, policy, critical).state
    expect(paused.level).toBe('pause')
    expect(pendingDueAt(paused, policy)).toBeUndefined()
    const nominal = decide({ now: 2000, idle: true, pressure: 'nominal' }, policy, paused).state
    expect(pendingDueAt(nominal, policy)).toBe(7000)
  })

  it('uses the idle limits while idle and the active limits while the person uses the computer', () => {
    expect(decide({ now: 0, idle: true }, policy, initialState).decision).toMatchObject({ workers: 4, duty: 1, reason: 'Running: computer idle' })
    expect(decide({ now: 0, idle: false }, policy, initialState).decision).toMatchObject({
      workers: 1,
      duty: 0.5,
      reason: 'Running: you are using the computer',
    })
  })

  it('stops at critical pressure only after the pause grace, and resumes only after the resume grace', () => {
    const d = run([
      { now: 0, pressure: 'critical' },
      { now: 500, pressure: 'critical' },
      { now: 800, pressure: 'critical' },
      { now: 1000, pressure: 'nominal' },
      { now: 5900, pressure: 'nominal' },
      { now: 6000, pressure: 'nominal' },
    ])
    expect(d.map((x) => x.workers)).toEqual([4, 4, 0, 0, 0, 4])
    expect(d[2].reason).toBe('Paused: CPU pressure critical')
    expect(d[3].resumesAt).toBe(6000)
  })

  it('reduces at serious pressure: half the workers, at most 50 % duty', () => {
    const d = run([{ now: 0, pressure: 'serious' }, { now: 1000, pressure: 'serious' }])
    expect(d[1]).toMatchObject({ workers: 2, duty: 0.5, level: 'reduce', reason: 'Reduced: CPU pressure serious' })
  })

  it('does not flap: a relapse during the resume grace restarts it', () => {
    const d = run([
      { now: 0, pressure: 'critical' },
      { now: 1000, pressure: 'critical' },
      { now: 2000, pressure: 'fair' },
      { now: 4000, pressure: 'critical' },
      { now: 4200, pressure: 'fair' },
      { now: 8000, pressure: 'fair' },
      { now: 9300, pressure: 'fair' },
    ])
    expect(d.map((x) => x.workers)).toEqual([4, 0, 0, 0, 0, 0, 4])
  })

  it('ignores a blip shorter than the pause grace', () => {
    const d = run([{ now: 0, pressure: 'critical' }, { now: 300, pressure: 'nominal' }, { now: 2000, pressure: 'nominal' }])
    expect(d.every((x) => x.workers === 4)).toBe(true)
  })

  it('steps down from pause to reduce when pressure eases to serious', () => {
    const d = run([
      { now: 0, pressure: 'critical' },
      { now: 1000, pressure: 'critical' },
      { now: 2000, pressure: 'serious' },
      { now: 7000, pressure: 'serious' },
    ])
    expect(d.map((x) => x.level)).toEqual(['run', 'pause', 'pause', 'reduce'])
  })

  it('pauses on battery by default, allows it above the chosen level, and computes while charging', () => {
    const onBattery = [{ now: 0, battery: { charging: false, level: 0.9 } }, { now: 1000, battery: { charging: false, level: 0.9 } }]
    expect(run(onBattery)[1]).toMatchObject({ workers: 0, reason: 'Paused: on battery' })
    expect(run(onBattery, true, { ...policy, batteryMinLevel: 0.5 })[1]).toMatchObject({ workers: 4 })
    const low = [{ now: 0, battery: { charging: false, level: 0.3 } }, { now: 1000, battery: { charging: false, level: 0.3 } }]
    expect(run(low, true, { ...policy, batteryMinLevel: 0.5 })[1].reason).toBe('Paused: on battery at 30 % (below 50 %)')
    expect(run([{ now: 0, battery: { charging: true, level: 0.1 } }])[0].workers).toBe(4)
  })

  it('keeps a battery pause when pressure also turns critical, with the newer reason', () => {
    const d = run([
      { now: 0, battery: { charging: false, level: 1 } },
      { now: 1000, battery: { charging: false, level: 1 } },
      { now: 1100, battery: { charging: true, level: 1 }, pressure: 'critical' },
    ])
    expect(d[2]).toMatchObject({ workers: 0, reason: 'Paused: CPU pressure critical' })
  })

  it('applies the first readings at once while the sensors settle (no grace: nothing to flap from)', () => {
    const discharging = { charging: false, level: 0.9 }
    const [first, later] = run([
      { now: 0, battery: discharging, settling: true },
      { now: 10, battery: discharging },
    ])
    expect(first).toMatchObject({ workers: 0, reason: 'Paused: on battery' })
    expect(later).toMatchObject({ workers: 0 })
    // Once settled, the same change waits out the pause grace.
    expect(run([{ now: 0 }, { now: 10, battery: discharging }])[1]).toMatchObject({ workers: 4 })
  })

  it('says so when the limits themselves allow no work', () => {
    const d = decide({ now: 0, idle: false }, { ...policy, active: { workers: 0, duty: 1 } }, initialState).decision
    expect(d).toMatchObject({ workers: 0, duty: 0, reason: 'Paused: limits for when you are using the computer allow no work' })
  })
})
