/** A local chain for end-to-end tests: `npm run chain`'s script (anvil with the reward contract) on a free port. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address } from 'viem'
import { freePort } from './start-hub.ts'

export interface Chain {
  rpcUrl: string
  chainId: number
  contract: Address
  stop(): Promise<void>
}

/** Runs `npm run chain`'s script on a free port, writing chain.json into `dataDir` as a developer's would. */
export async function startChain(dataDir: string): Promise<Chain> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'contracts/chain.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, MESHWORK_CHAIN_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const file = join(dataDir, 'chain.json')
  const deadline = Date.now() + 30_000
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`npm run chain exited with ${child.exitCode}:\n${output}`)
    if (Date.now() > deadline) throw new Error(`npm run chain wrote no chain.json in 30 s:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const chain = JSON.parse(readFileSync(file, 'utf8')) as { rpcUrl: string; chainId: number; contract: Address }
  return {
    ...chain,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
