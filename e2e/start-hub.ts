/**
 * Starts a real hub as a child process (its own SQLite file in a temp dir, the built app, a demo job of the given
 * size) and stops it by its own PID. Used by the end-to-end tests and the benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const OWNER_TOKEN = 'e2e-owner-token-0123456789abcdef'

export interface DemoParams {
  m: number
  n: number
  k: number
  tile: number
}

/** Each unit of the default test job: 256 x 256 tile with k = 1024, i.e. 2·256·256·1024 flops. */
export const DEFAULT_DEMO: DemoParams = { m: 768, n: 768, k: 1024, tile: 256 }

export interface Hub {
  url: string
  /** The port the hub's HTTP server bound (a restart passes it back to come up at the same address). */
  port: number
  /** The TCP port of the hub's peer network listener, when it runs one. */
  p2pPort?: number
  /** The hub process's id (the hub bench reads its CPU time). */
  pid: number
  /** Calls the job-owner API with the test's token. */
  owner(path: string, init?: RequestInit): Promise<Response>
  stop(): Promise<void>
  /** Kills the hub with SIGKILL (a crash: no shutdown code runs) and resolves once the process is gone. */
  kill(): Promise<void>
}

/**
 * Starts `npm run hub`'s entry point as a child process and waits for /api/v1/health. Without a port the hub binds any
 * free one itself (PORT=0) and the address is read from what it prints: a port picked here and bound later by the child
 * can be taken in between (a hub's own peer listener, started first on port 0, once took it: EADDRINUSE in CI).
 */
export async function startHub(
  demo: DemoParams | Record<string, unknown> = DEFAULT_DEMO,
  dataDir?: string,
  env: Record<string, string> = {},
  port = 0,
): Promise<Hub> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'meshwork-e2e-'))
  // MESHWORK_HUB_NODE_ARGS: extra Node flags for the hub process (e.g. --cpu-prof to profile it under a bench).
  const nodeArgs = process.env.MESHWORK_HUB_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      STATIC_DIR: 'dist',
      MESHWORK_API_TOKEN: OWNER_TOKEN,
      MESHWORK_DEMO: 'on',
      MESHWORK_DEMO_PARAMS: JSON.stringify({ inputs: { kind: 'random', seed: 7 }, ...demo }),
      // Any free port for the hub's libp2p listener; every browser in a test shares 127.0.0.1, so the rule that
      // bandwidth receipts come from another network is off here (and tested in the hub's unit tests).
      MESHWORK_P2P_PORT: '0',
      MESHWORK_RECEIPTS_SAME_NETWORK: '1',
      // Every browser of a test calls from loopback: replicas of a unit may go to them all.
      MESHWORK_REPLICAS_SAME_NETWORK: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const deadline = Date.now() + 20_000
  const url = await (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hub exited with ${child.exitCode}:\n${output}`)
      const listening = /Meshwork hub listening on (http:\/\/\S+)/.exec(output)?.[1]
      try {
        if (listening && (await fetch(`${listening}/api/v1/health`)).ok) return listening
      } catch {
        // not answering yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`hub did not become healthy in 20 s:\n${output}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  // A hub that dies under a test or a bench says why (its output is otherwise only read while it starts).
  child.once('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) console.error(`hub at ${url} exited with ${code}:\n${output.slice(-4000)}`)
  })
  const p2pPort = /^Peer network: .*?\/tcp\/(\d+)/m.exec(output)?.[1]
  return {
    url,
    port: Number(new URL(url).port),
    ...(p2pPort ? { p2pPort: Number(p2pPort) } : {}),
    pid: child.pid!,
    owner: (path, init = {}) =>
      fetch(`${url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${OWNER_TOKEN}`, ...(init.headers ?? {}) } }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      process.kill(child.pid!, 'SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        process.kill(child.pid!, 'SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
        if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL')
      }
      if (!dataDir) rmSync(dir, { recursive: true, force: true })
    },
  }
}
