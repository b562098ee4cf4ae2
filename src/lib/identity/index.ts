export { loadDeviceKey, ensureDeviceKey } from './device-key.ts'
