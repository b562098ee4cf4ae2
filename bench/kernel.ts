/**
 * CPU matmul kernels in a worker in headless Chromium (the WebAssembly relaxed-SIMD and plain-SIMD builds and the JS
 * kernel), against a native baseline run right beside them (numpy/OpenBLAS on one thread when python3 has numpy,
 * else a C loop compiled with -O3). Kernels and baseline take turns, round after round, so all of them see the same
 * machine load; each figure is the median over every round's runs. Plus "all cores": one large unit split by rows
 * over two workers (WorkerPool.runAcross) against the same unit on one.
 */
import { chromium } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'vite'
import { buildWasm } from '../scripts/build-wasm.ts'
import type { CpuKernel } from '../workers/protocol.ts'
import type { KernelBenchApi } from './kernel-page.ts'
import { quantile, row, type BenchRow } from './stats.ts'

interface NativeSample {
  n: number
  seconds: number
  gflops: number
  runs: number
}

let nativeBinary: string | undefined

function nativeBaseline(sizes: number[], runs: number): { baseline: string; samples: NativeSample[] } {
  try {
    const out = execFileSync('python3', ['bench/native_matmul.py', String(runs), ...sizes.map(String)], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return JSON.parse(out)
  } catch {
    if (!nativeBinary) {
      nativeBinary = join(mkdtempSync(join(tmpdir(), 'meshwork-bench-')), 'matmul')
      execFileSync('cc', ['-O3', '-march=native', '-o', nativeBinary, 'bench/native_matmul.c'])
    }
    return JSON.parse(execFileSync(nativeBinary, [String(runs), ...sizes.map(String)], { encoding: 'utf8' }))
  }
}

const LABEL: Record<CpuKernel, string> = { 'wasm-relaxed-simd': 'WASM relaxed SIMD', 'wasm-simd': 'WASM SIMD', js: 'JS' }

export interface KernelBenchOptions {
  /** Rounds of (every kernel, then the baseline) per size. @default 5 */
  rounds?: number
  /** Timed runs per kernel per round (after one warm-up). @default 5 */
  runs?: number
  /** The "all cores" unit. @default 512 x 512 x 2048 */
  allCoresSpec?: { m: number; n: number; k: number }
}

/** Measures the kernels at `sizes` (n x n x n products) and returns the rows. */
export async function benchKernel(sizes: number[], options: KernelBenchOptions = {}): Promise<BenchRow[]> {
  const { rounds = 5, runs = 5, allCoresSpec = { m: 512, n: 512, k: 2048 } } = options
  await buildWasm()
  const server = await createServer({ logLevel: 'error', server: { port: 0, host: '127.0.0.1' } })
  await server.listen()
  const address = server.httpServer?.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--disable-quic', '--enable-unsafe-webgpu'],
  })
  try {
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/bench/kernel.html`)
    await page.waitForFunction(() => 'kernelBench' in globalThis)
    const bench = <K extends keyof KernelBenchApi>(name: K, ...args: Parameters<KernelBenchApi[K]>) =>
      page.evaluate(
        ([name, args]) => {
          const api = (globalThis as unknown as { kernelBench: Record<string, (...a: unknown[]) => unknown> }).kernelBench
          return api[name](...args)
        },
        [name, args] as const,
      ) as Promise<Awaited<ReturnType<KernelBenchApi[K]>>>

    const level = await bench('wasmSimdLevel')
    const kernels: CpuKernel[] = [...(level === 'relaxed-simd' ? ['wasm-relaxed-simd' as const] : []), ...(level !== 'none' ? ['wasm-simd' as const] : []), 'js']
    const rows: BenchRow[] = []
    for (const n of sizes) {
      const seconds = new Map<CpuKernel | 'native', number[]>([...kernels, 'native' as const].map((k) => [k, []]))
      let baselineName = ''
      for (let round = 0; round < rounds; round++) {
        for (const kernel of kernels) {
          // The JS kernel takes a second or more per run at n = 1024: fewer runs there.
          const kernelRuns = kernel === 'js' && n >= 1024 ? Math.max(1, Math.ceil(runs / 2)) : runs
          seconds.get(kernel)!.push(...(await bench('benchKernel', n, kernel, kernelRuns)))
        }
        const native = nativeBaseline([n], runs)
        baselineName = native.baseline
        seconds.get('native')!.push(native.samples[0].seconds)
      }
      const gflops = (k: CpuKernel | 'native') => (2 * n ** 3) / quantile(seconds.get(k)!, 0.5) / 1e9
      const native = { name: baselineName, value: gflops('native') }
      for (const kernel of kernels) rows.push(row(`matmul cpu kernel (${LABEL[kernel]}, 1 worker) n=${n}`, gflops(kernel), 'GFLOP/s', native))
      const best = kernels[0]
      if (best !== 'js') {
        rows.push(row(`matmul cpu kernel ${LABEL[best]} vs JS, n=${n}`, gflops(best), 'GFLOP/s', { name: 'JS kernel, same run', value: gflops('js') }))
      }
    }

    if (level !== 'none') {
      const cores = Math.min(2, await bench('cores'))
      const { one, all } = await bench('benchAllCores', allCoresSpec, cores, rounds * runs)
      const flops = 2 * allCoresSpec.m * allCoresSpec.n * allCoresSpec.k
      const { m, n, k } = allCoresSpec
      rows.push(
        row(`matmul cpu kernel all cores (${LABEL[kernels[0]]}, ${cores} workers, one ${m}x${n}x${k} unit split by rows)`, flops / quantile(all, 0.5) / 1e9, 'GFLOP/s', {
          name: 'the same unit on 1 worker, same run',
          value: flops / quantile(one, 0.5) / 1e9,
        }),
      )
    }
    return rows
  } finally {
    await browser.close()
    await server.close()
  }
}
