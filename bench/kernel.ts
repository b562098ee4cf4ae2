/**
 * CPU matmul kernel in a worker in headless Chromium, against a native baseline run right beside it (numpy/OpenBLAS
 * on one thread when python3 has numpy, else a C loop compiled with -O3).
 */
import { chromium } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'vite'
import { row, type BenchRow } from './stats.ts'

interface Sample {
  n: number
  seconds: number
  gflops: number
  runs: number
}

function nativeBaseline(sizes: number[], runs: number): { baseline: string; samples: Sample[] } {
  try {
    const out = execFileSync('python3', ['bench/native_matmul.py', String(runs), ...sizes.map(String)], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return JSON.parse(out)
  } catch {
    const bin = join(mkdtempSync(join(tmpdir(), 'meshwork-bench-')), 'matmul')
    execFileSync('cc', ['-O3', '-march=native', '-o', bin, 'bench/native_matmul.c'])
    return JSON.parse(execFileSync(bin, [String(runs), ...sizes.map(String)], { encoding: 'utf8' }))
  }
}

/** Measures the kernel at `sizes` and returns one row per size. */
export async function benchKernel(sizes: number[], runs: number): Promise<BenchRow[]> {
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
    await page.waitForFunction(() => 'benchKernel' in globalThis)
    // Native and browser alternate per size so both see the same machine load.
    const rows: BenchRow[] = []
    for (const n of sizes) {
      const ours = (await page.evaluate(
        ([n, runs]) => (globalThis as unknown as { benchKernel: (s: number[], r: number) => Promise<Sample[]> }).benchKernel([n], runs),
        [n, runs] as const,
      )) as Sample[]
      const native = nativeBaseline([n], runs)
      rows.push(
        row(`matmul cpu kernel (JS, 1 worker) n=${n}`, ours[0].gflops, 'GFLOP/s', { name: native.baseline, value: native.samples[0].gflops }),
      )
    }
    return rows
  } finally {
    await browser.close()
    await server.close()
  }
}
