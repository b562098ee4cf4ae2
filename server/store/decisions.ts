/**
 * What both store engines tell a volunteer: the rejections of a stored result and the decisions recorded for a
 * verdict (the texts the app shows under "why did this result get no credit?"), and the quota rule they enforce. One
 * source for SQLite and Postgres, so the two engines cannot drift apart in what they say.
 */
import type { ResultInsertOutcome, Decision, UnitVerdict } from './types.ts'
import type { ResultState } from '../../protocol/schemas.ts'

type Rejection = Extract<ResultInsertOutcome, { kind: 'rejected' }>

/** The result's id was stored before for another unit or device. */
export function reusedResultId(resultId: string): Rejection {
  return {
    kind: 'rejected',
    code: 'conflict',
    message: `Result id ${resultId} was already used for another unit or device; choose a new id for a new result.`,
  }
}

export function unknownUnit(unitId: string): Rejection {
  return { kind: 'rejected', code: 'not_found', message: `Unit ${unitId} does not exist.` }
}

export function notLeased(unitId: string): Rejection {
  return { kind: 'rejected', code: 'forbidden', message: `Unit ${unitId} was not leased to this device.` }
}

/** The device already returned another result (`prior`) for the unit. */
export function secondResult(prior: { id: string; state: ResultState }, unitId: string): Rejection {
  return {
    kind: 'rejected',
    code: 'conflict',
    message: `This device already returned result ${prior.id} (${prior.state}) for unit ${unitId}; one result per unit and device.`,
  }
}

/** A device's daily quota: the hub's default halved once per net invalid result, at least 1. */
export function quotaOf(defaultQuota: number, shift: number): number {
  return Math.max(1, Math.floor(defaultQuota / 2 ** shift))
}

/** The decision recorded when an invalid result halved its device's quota (`shift`: the halvings now in force). */
export function quotaHalved(at: number, result: { deviceId: string; unitId: string; resultId: string }, shift: number): Decision {
  return {
    at,
    ...result,
    kind: 'quota',
    message: `Invalid result: the device's daily quota is halved (1/${2 ** shift} of the hub's); each valid result doubles it back.`,
  }
}

/** The decision recorded for a unit's verdict, or none when the verdict changes nothing about the unit. */
export function quorumDecision(at: number, u: UnitVerdict): Decision | undefined {
  const unit = { at, deviceId: null, unitId: u.unitId, kind: 'quorum' }
  if (u.canonicalResultId) return { ...unit, resultId: u.canonicalResultId, message: `A quorum agreed; result ${u.canonicalResultId} is the unit's answer.` }
  if (u.error) return { ...unit, resultId: null, message: `The unit is an error: ${u.error}.` }
  if (u.wanted) return { ...unit, resultId: null, message: `No quorum yet: gathering ${u.wanted} results.` }
  return undefined
}
