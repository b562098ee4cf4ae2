/**
 * Compiles the workloads' AssemblyScript kernels into WebAssembly with asc (the `assemblyscript` package): each
 * target in two builds, `<name>-relaxed-simd.wasm` (SIMD + relaxed SIMD) and `<name>-simd.wasm` (SIMD only, for
 * engines without relaxed SIMD), written to the workload's generated/ folder, which is build output and not
 * committed. Skips the compiler when the outputs already match the current inputs.
 *
 * Run: `npm run build:wasm` (`check` and `build` run it first; vitest runs it as a globalSetup).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

/** Kernels to compile: an AssemblyScript entry file and where its builds go. */
const targets = [
  { name: 'matmul', entry: 'workloads/matmul/assembly/matmul.ts', outDir: 'workloads/matmul/generated' },
  { name: 'primes', entry: 'workloads/primes/assembly/primes.ts', outDir: 'workloads/primes/generated' },
]

/** The two builds of every target and the asc features each enables. */
export const WASM_BUILDS = { 'relaxed-simd': ['simd', 'relaxed-simd'], simd: ['simd'] } as const

/** Thrown when asc reports errors; the message carries asc's own diagnostics. */
export class WasmCompileError extends Error {
  override name = 'WasmCompileError'
}

/** Hash of everything that decides a target's output: its AssemblyScript folder, this script and asc's version. */
function inputHash(entry: string): string {
  const hash = createHash('sha256')
  const dir = join(root, dirname(entry))
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) hash.update(file).update(readFileSync(join(dir, file)))
  hash.update(readFileSync(fileURLToPath(import.meta.url)))
  hash.update((require('assemblyscript/package.json') as { version: string }).version)
  return hash.digest('hex')
}

/** Compiles every target whose outputs are missing or stale; returns the names of the files it wrote. */
export async function buildWasm(): Promise<string[]> {
  const written: string[] = []
  for (const target of targets) {
    const outDir = join(root, target.outDir)
    const stamp = join(outDir, `${target.name}.inputs`)
    const hash = inputHash(target.entry)
    const outputs = Object.keys(WASM_BUILDS).map((build) => join(outDir, `${target.name}-${build}.wasm`))
    if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && outputs.every((f) => existsSync(f))) continue
    // Loaded only when something needs compiling: asc takes about a second to import.
    const asc = await import('assemblyscript/asc')
    mkdirSync(outDir, { recursive: true })
    for (const [build, features] of Object.entries(WASM_BUILDS)) {
      const outFile = join(outDir, `${target.name}-${build}.wasm`)
      const { error, stderr } = await asc.main([
        join(root, target.entry),
        '--outFile', outFile,
        // Speed first; --noAssert drops the bounds asserts the kernel's own loops make redundant.
        '-O3', '--noAssert',
        // No allocations in the kernel: the stub runtime, no abort import, and the caller grows memory itself.
        '--runtime', 'stub', '--use', 'abort=',
        ...features.flatMap((f) => ['--enable', f]),
      ])
      if (error) throw new WasmCompileError(`asc failed to compile ${target.entry} (${build}):\n${stderr.toString()}`)
      written.push(relative(root, outFile))
    }
    writeFileSync(stamp, hash)
  }
  return written
}

/** Vitest globalSetup: the kernel tests load the .wasm builds, which a fresh clone does not have yet. */
export async function setup(): Promise<void> {
  await buildWasm()
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const started = performance.now()
    const written = await buildWasm()
    const ms = Math.round(performance.now() - started)
    console.log(written.length ? `wasm: built ${written.join(', ')} in ${ms} ms` : 'wasm: up to date')
  } catch (e) {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  }
}
