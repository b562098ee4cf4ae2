/**
 * `npm run hub`: starts the hub from environment variables (see config.ts), prints where it listens, and shuts down
 * cleanly on SIGINT/SIGTERM (loops stopped, queued results committed, database closed).
 */
// First: libp2p calls Promise.withResolvers, which Node 20 lacks.
import './polyfills.ts'
import path from 'node:path'
import { hubOptionsFromEnv } from './config.ts'
import { createHub } from './hub.ts'
import { stopOnSignals } from './shutdown.ts'
import { checkRewards, rewardsFromEnv } from './wallet/config.ts'

async function main(): Promise<void> {
  const options = hubOptionsFromEnv(process.env)
  // Checked before the hub opens: a contract that would reject every voucher stops the start (see wallet/config.ts).
  const { rewards, notes } = await rewardsFromEnv(process.env, options.dataDir)
  if (rewards) notes.push((await checkRewards(rewards)).note)
  const hub = await createHub({ ...options, ...(rewards ? { rewards } : {}) })

  const { ownerToken } = hub
  if (ownerToken.source === 'generated') {
    console.log(`Job owner API token (shown only this once; only its SHA-256 is stored): ${ownerToken.token}`)
  } else if (ownerToken.source === 'stored') {
    console.log(
      `A job owner API token exists (its SHA-256 is stored in ${path.resolve(options.dataDir)}). ` +
        'Lost it? Start once with MESHWORK_RESET_TOKEN=1 to print a new one, or set MESHWORK_API_TOKEN.',
    )
  } else {
    console.log('Job owner API token: taken from MESHWORK_API_TOKEN.')
  }

  await hub.listen()
  console.log(`Meshwork hub listening on ${hub.url}  (API ${hub.url}/api/v1, data in ${path.resolve(options.dataDir)})`)
  if (hub.p2p) {
    const where = hub.p2p.announce.length ? hub.p2p.announce : hub.p2p.multiaddrs()
    console.log(`Peer network: ${hub.p2p.peerId} on ${where.join(', ')}`)
  } else {
    console.log('Peer network: off (MESHWORK_P2P=off).')
  }
  for (const note of notes) console.log(note)

  stopOnSignals('stopping the hub', () => hub.close())
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
