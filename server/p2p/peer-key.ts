/**
 * The hub's libp2p identity: one Ed25519 key, generated at first start and kept in DATA_DIR, so the hub's peer id
 * survives restarts and browsers that remember it reconnect to the same peer.
 */
import fs from 'node:fs'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

/** File name of the hub's key inside DATA_DIR (libp2p protobuf encoding, readable by the hub's user only). */
export const PEER_KEY_FILE = 'p2p-key'

/** Reads the hub's key from `dataDir`, creating it (mode 0600) on first start. */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const file = path.join(dataDir, PEER_KEY_FILE)
  let bytes: Buffer | undefined
  try {
    bytes = fs.readFileSync(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (bytes) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (error) {
      throw new Error(
        `${file} is not a libp2p private key. Move it away to let the hub make a new one (browsers will then see a new hub peer id).`,
        { cause: error },
      )
    }
  }
  const key = await generateKeyPair('Ed25519')
  // Written beside the target and renamed, so a crash never leaves a half-written key that blocks the next start.
  const temp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  try {
    fs.linkSync(temp, file)
  } catch (error) {
    // Another hub on the same DATA_DIR won the race: use its key.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    fs.rmSync(temp, { force: true })
    return privateKeyFromProtobuf(fs.readFileSync(file))
  }
  fs.rmSync(temp, { force: true })
  return key
}
