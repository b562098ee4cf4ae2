/** A local chain for end-to-end tests: `npm run chain`'s script (anvil with the reward contract) on a free port. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address } from 'viem'
import { freePort } from '../server/free-port.ts'

export interface Chain {
  rpcUrl: string
  chainId: number
  contract: Address
  stop(): Promise<void>
}

/**
 * Runs `npm run chain`'s script on a free port, writing chain.json into `dataDir` as a developer's would. anvil cannot
 * say which port it bound, so the port is picked here; if something takes it before anvil binds it, another is tried.
 */
export async function startChain(dataDir: string): Promise<Chain> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startChainOn(dataDir, await freePort())
    } catch (error) {
      if (attempt === 3 || !(error instanceof PortTakenError)) throw error
    }
  }
}

class PortTakenError extends Error {}

async function startChainOn(dataDir: string, port: number): Promise<Chain> {
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
    if (child.exitCode !== null) {
      const message = `npm run chain exited with ${child.exitCode}:\n${output}`
      throw /in use/i.test(output) ? new PortTakenError(message) : new Error(message)
    }
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
