/** Hub options from environment variables; every error names the variable and what it should hold. */
import type { HubOptions } from './hub.ts'

type Env = Record<string, string | undefined>

function fail(name: string, expected: string, got: string): never {
  throw new Error(`${name} must be ${expected}, got "${got}".`)
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim()
  if (!text) return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) fail(name, `an integer from ${min} to ${max}`, text)
  return value
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const text = env[name]?.trim().toLowerCase()
  if (!text) return fallback
  if (['on', 'true', '1', 'yes'].includes(text)) return true
  if (['off', 'false', '0', 'no'].includes(text)) return false
  return fail(name, '"on" or "off"', text)
}

/**
 * Reads PORT (8080), HOST (127.0.0.1), DATA_DIR (./data), STATIC_DIR (./dist), MESHWORK_API_TOKEN,
 * MESHWORK_RESET_TOKEN (off), MESHWORK_DEMO (on), MESHWORK_DEMO_PARAMS (JSON) and MESHWORK_LEASE_MS (600000).
 */
export function hubOptionsFromEnv(env: Env = process.env): HubOptions {
  const token = env.MESHWORK_API_TOKEN
  if (token !== undefined && token.length > 0 && (token.length < 16 || /\s/.test(token))) {
    fail('MESHWORK_API_TOKEN', 'at least 16 characters without spaces', `${token.slice(0, 3)}…`)
  }
  let demoParams: Record<string, unknown> | undefined
  const demoText = env.MESHWORK_DEMO_PARAMS?.trim()
  if (demoText) {
    try {
      demoParams = JSON.parse(demoText)
    } catch {
      fail('MESHWORK_DEMO_PARAMS', 'a JSON object of matmul params such as {"m":512,"n":512,"k":512,"tile":128}', demoText)
    }
    if (typeof demoParams !== 'object' || demoParams === null || Array.isArray(demoParams)) {
      fail('MESHWORK_DEMO_PARAMS', 'a JSON object', demoText)
    }
  }
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST?.trim() || '127.0.0.1',
    dataDir: env.DATA_DIR?.trim() || './data',
    staticDir: env.STATIC_DIR?.trim() || './dist',
    apiToken: token || undefined,
    resetApiToken: flag(env, 'MESHWORK_RESET_TOKEN', false),
    demo: flag(env, 'MESHWORK_DEMO', true),
    demoParams,
    leaseMs: integer(env, 'MESHWORK_LEASE_MS', 600_000, 1000, 30 * 24 * 3600 * 1000),
  }
}
