/**
 * Vitest global setup: one throwaway Postgres cluster for the whole run (initdb and pg_ctl in a temp dir, a free
 * loopback port, its unix socket in the same temp dir, trust authentication), stopped and removed at the end. Tests
 * reach it through `inject('postgres')` (see server/store/test-stores.ts), each in a database of its own. When the
 * Postgres binaries are missing, the setup still succeeds, and every Postgres test fails with the message below: the
 * run must not pass without them.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { freePort } from './free-port.ts'

/** What the tests get: the admin URL of the running cluster, or why there is none. */
export type PostgresProvided = { url: string } | { error: string }

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresProvided
  }
}

const INSTALL_HINT =
  "Install Debian's postgresql package (apt-get install -y --no-install-recommends postgresql; .ci/run does this), " +
  'or set MESHWORK_PG_BIN to the folder holding initdb and pg_ctl.'

/** The folder holding initdb and pg_ctl: MESHWORK_PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string | undefined {
  const explicit = process.env.MESHWORK_PG_BIN?.trim()
  if (explicit) return fs.existsSync(path.join(explicit, 'initdb')) ? explicit : undefined
  const root = '/usr/lib/postgresql'
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) {
    const dir = path.join(root, v, 'bin')
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir
  }
  return undefined
}

/** Postgres refuses to run as root: as root, its programs run as the `postgres` user (which Debian's package creates). */
function runAs(): { uid: number; gid: number; wrap: (file: string, args: string[]) => [string, string[]] } | undefined {
  if (process.getuid?.() !== 0) return undefined
  let ids: string
  try {
    ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim() + ' ' + execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error(`Postgres refuses to run as root and there is no "postgres" user to run it as. ${INSTALL_HINT}`)
  }
  const [uid, gid] = ids.split(' ').map(Number)
  return { uid, gid, wrap: (file, args) => ['runuser', ['-u', 'postgres', '--', file, ...args]] }
}

/**
 * Vitest runs global setups once per project (the root, `unit`, `load`), each in a module instance of its own: the
 * cluster is shared through globalThis and stopped when the last project's teardown runs.
 */
const SHARED = Symbol.for('meshwork.postgres-test-cluster')
interface SharedCluster {
  provided: Promise<PostgresProvided>
  stop: () => Promise<void>
  users: number
}

/** Starts the cluster (or joins the one another project started) and provides its URL; the teardown stops it last. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const registry = globalThis as { [SHARED]?: SharedCluster }
  if (!registry[SHARED]) {
    let stop: () => Promise<void> = async () => {}
    const provided = startCluster().then((started) => {
      stop = started.stop
      return started.provided
    })
    registry[SHARED] = { provided, stop: () => stop(), users: 0 }
  }
  const shared = registry[SHARED]
  shared.users++
  project.provide('postgres', await shared.provided)
  return async () => {
    if (--shared.users > 0) return
    delete registry[SHARED]
    await shared.stop()
  }
}

/** Starts a throwaway cluster (initdb in a temp folder, a free loopback port); also used by `npm run bench hub`. */
export async function startCluster(): Promise<{ provided: PostgresProvided; stop: () => Promise<void> }> {
  const none = async () => {}
  const bin = postgresBinDir()
  if (!bin) return { provided: { error: `The Postgres binaries (initdb, pg_ctl) were not found. ${INSTALL_HINT}` }, stop: none }
  let user: ReturnType<typeof runAs>
  try {
    user = runAs()
  } catch (error) {
    return { provided: { error: (error as Error).message }, stop: none }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwork-pg-'))
  if (user) fs.chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, 'data')
  const log = path.join(dir, 'postgres.log')
  const run = (program: string, args: string[]) => {
    const [file, argv] = user ? user.wrap(path.join(bin, program), args) : [path.join(bin, program), args]
    execFileSync(file, argv, { stdio: 'pipe', cwd: dir })
  }
  const port = await freePort()
  let started = false
  let stopped = false
  // Synchronous, so that it also runs from the process's 'exit' event: a run that ends without its teardown (vitest
  // exits when a teardown outlasts teardownTimeout) must not leave a postmaster behind.
  const stopNow = () => {
    if (stopped) return
    stopped = true
    process.off('exit', stopNow)
    try {
      if (started) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  process.on('exit', stopNow)
  const stop = async () => stopNow()
  try {
    // --no-sync: a throwaway cluster need not wait for initdb's files to reach the disk. The server itself keeps its
    // defaults (fsync and synchronous_commit on), as in production.
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      log,
      '-w',
      '-t',
      '30',
      '-o',
      // MESHWORK_PG_OPTIONS: more server options, e.g. "-c shared_preload_libraries=pg_stat_statements" to see where a
      // bench's statements spend the server's time.
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 ${process.env.MESHWORK_PG_OPTIONS ?? ''}`.trim(),
      'start',
    ])
    started = true
  } catch (error) {
    const output = (error as { stderr?: Buffer }).stderr?.toString() ?? ''
    const serverLog = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''
    await stop().catch(() => {})
    return { provided: { error: `The test Postgres cluster did not start: ${(error as Error).message}\n${output}\n${serverLog}` }, stop: none }
  }
  return { provided: { url: `postgres://postgres@127.0.0.1:${port}/postgres` }, stop }
}
