export { Governor } from './governor.svelte.ts'
export { decide, initialState, restriction } from './decide.ts'
export type { BatteryReading, Decision, GovernorPolicy, GovernorState, Level, Limit, PressureState, Readings } from './decide.ts'
