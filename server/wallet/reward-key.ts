/**
 * The hub's reward key kept in DATA_DIR, for a local chain: `npm run chain` deploys the contract with its address as
 * voucherSigner and the hub signs vouchers with it. A production hub takes MESHWORK_REWARD_KEY from a secret store.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'

/** The file in DATA_DIR that holds the reward key as 0x-prefixed hex. */
export const REWARD_KEY_FILE = 'reward-key'

const KEY_PATTERN = /^0x[0-9a-fA-F]{64}$/

export interface LoadOrCreateRewardKeyReturnType {
  key: Hex
  /** Absolute path of the key file. */
  path: string
  /** Whether the key was generated just now. */
  created: boolean
}

/** Whether `text` is a private key: 0x and 64 hex digits. */
export function isPrivateKeyHex(text: string): text is Hex {
  return KEY_PATTERN.test(text)
}

/**
 * Reads DATA_DIR/reward-key, or writes a fresh key there (mode 0600) when there is none. Safe when the hub and
 * `npm run chain` start at once: the file appears complete or not at all, and the first writer wins.
 */
export async function loadOrCreateRewardKey(dataDir: string): Promise<LoadOrCreateRewardKeyReturnType> {
  const file = path.resolve(dataDir, REWARD_KEY_FILE)
  const existing = await readKeyFile(file)
  if (existing) return { key: existing, path: file, created: false }
  await fs.mkdir(path.dirname(file), { recursive: true })
  const key = generatePrivateKey()
  const tmp = `${file}.${process.pid}.tmp`
  await fs.rm(tmp, { force: true })
  await fs.writeFile(tmp, `${key}\n`, { mode: 0o600, flag: 'wx' })
  try {
    // link() fails when the name exists, unlike rename(): a key another process just wrote is never replaced.
    await fs.link(tmp, file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const theirs = await readKeyFile(file)
    if (!theirs) throw new Error(`${file} appeared while writing a new reward key but holds no key.`)
    return { key: theirs, path: file, created: false }
  } finally {
    await fs.rm(tmp, { force: true })
  }
  return { key, path: file, created: true }
}

async function readKeyFile(file: string): Promise<Hex | undefined> {
  let text: string
  try {
    text = (await fs.readFile(file, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  if (!isPrivateKeyHex(text)) {
    throw new Error(`${file} must hold a reward key: 0x and 64 hex digits. Fix it, or delete it to generate a new one (then run \`npm run chain\` again).`)
  }
  return text
}
