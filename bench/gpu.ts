/**
 * `npm run bench gpu`: the WGSL matmul against a native GPU baseline, side by side in one run.
 *
 * - In headless Chromium, on whatever adapter it has (`--enable-unsafe-webgpu`, plus Vulkan where a GPU driver is
 *   installed). Here that is SwiftShader, a CPU implementation: its figures are reported as correctness-only, at a
 *   size it finishes (n = 512), with no ratio.
 * - In Node through Dawn (the WebGPU implementation inside Chromium, the `webgpu` package) on a hardware adapter,
 *   when the machine has one: n = 4096 (MESHWORK_BENCH_GPU_N), alternating rounds with the native baseline
 *   (bench/native_matmul_gpu.py: PyTorch, else CuPy, float32 with TF32 off), medians, and the ratio. This is the path
 *   for the lent GPU machine, where Chromium cannot be installed; ENVIRONMENT.md says how to carry the Vulkan loader.
 *
 * Every product is checked with the hub's verification; a wrong one fails the bench. The longest dispatch is
 * reported against the 50 ms a dispatch may take (GPU watchdogs).
 */
import { chromium } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { createServer } from 'vite'
import { dawnAdapter } from '../workers/gpu/dawn.ts'
import { requestComputeDevice } from '../workers/gpu/device.ts'
import type { GpuBenchApi } from './gpu-page.ts'
import { runGpuMatmul, type GpuRun } from './gpu-run.ts'
import { quantile, row, type BenchRow } from './stats.ts'

/** Chromium's flags: WebGPU on, and Vulkan on a real GPU where the machine has a driver (SwiftShader otherwise). */
const CHROMIUM_ARGS = ['--disable-quic', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--ignore-gpu-blocklist']

const gflops = (n: number, seconds: number) => (2 * n ** 3) / seconds / 1e9

function nativeBaseline(n: number, runs: number): { name: string; samples: number[] } | { reason: string } {
  try {
    const out = JSON.parse(execFileSync('python3', ['bench/native_matmul_gpu.py', String(n), String(runs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
    return out.baseline ? { name: out.baseline, samples: out.samples } : { reason: out.reason }
  } catch (error) {
    return { reason: `python3 bench/native_matmul_gpu.py failed: ${(error as Error).message.split('\n')[0]}` }
  }
}

function checked(run: GpuRun, where: string): GpuRun {
  if (!run.verified) throw new Error(`the WGSL product computed ${where} failed verification`)
  return run
}

function dispatchRow(run: GpuRun, label: string): BenchRow {
  return row(`matmul gpu longest dispatch (${label}; median ${quantile(run.dispatchMs, 0.5).toFixed(1)} ms)`, Math.max(...run.dispatchMs), 'ms', {
    name: 'the 50 ms a dispatch may take',
    value: 50,
  })
}

async function inChromium(n: number, runs: number): Promise<BenchRow[]> {
  const server = await createServer({ logLevel: 'error', server: { port: 0, host: '127.0.0.1' } })
  await server.listen()
  const address = server.httpServer?.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  try {
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/bench/gpu.html`)
    await page.waitForFunction(() => 'gpuBench' in globalThis)
    const probe = async (size: number, count: number) =>
      page.evaluate(([s, c]) => (globalThis as unknown as { gpuBench: GpuBenchApi }).gpuBench.run(s, c), [size, count] as const)
    let result = await probe(128, 1)
    if ('error' in result) return [row(`matmul gpu kernel (WGSL, Chromium): ${result.error}`, 0, 'GFLOP/s')]
    // A software adapter (SwiftShader) checks correctness at a size it finishes; a real GPU runs the full size.
    const size = result.software ? 512 : n
    result = await probe(size, result.software ? 1 : runs)
    if ('error' in result) throw new Error(result.error)
    checked(result, `in Chromium on ${result.adapter}`)
    const label = `WGSL ${result.program}, Chromium, ${result.adapter}${result.software ? ', software adapter: correctness only' : ''}`
    const value = gflops(size, quantile(result.seconds, 0.5))
    let baseline: BenchRow['baseline'] = null
    if (!result.software) {
      const native = nativeBaseline(size, runs)
      if ('name' in native) baseline = { name: native.name, value: gflops(size, quantile(native.samples, 0.5)) }
    }
    return [row(`matmul gpu kernel (${label}) n=${size}`, value, 'GFLOP/s', baseline), dispatchRow(result, label)]
  } finally {
    await browser.close()
    await server.close()
  }
}

async function inDawn(n: number, runs: number, rounds: number): Promise<BenchRow[]> {
  const found = await dawnAdapter(false)
  if ('reason' in found) {
    console.log(`bench gpu: no hardware adapter through Dawn (${found.reason}); only Chromium's figures`)
    return []
  }
  const info = found.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }
  const adapterName = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'GPU'
  if (info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(`${adapterName} ${info.device ?? ''}`)) {
    console.log(`bench gpu: Dawn's adapter is a software one (${adapterName}); only Chromium's figures`)
    return []
  }
  const device = await requestComputeDevice(found.adapter, 'meshwork-bench')
  try {
    const ours: number[] = []
    const theirs: number[] = []
    const dispatchMs: number[] = []
    let program = ''
    let baselineName = ''
    let reason = ''
    // Rounds alternate ours and the baseline, so both see the same machine state.
    for (let round = 0; round < rounds; round++) {
      const run = checked(await runGpuMatmul(device, n, runs), `through Dawn on ${adapterName}`)
      program = run.program
      ours.push(...run.seconds)
      dispatchMs.push(...run.dispatchMs)
      const native = nativeBaseline(n, runs)
      if ('name' in native) {
        baselineName = native.name
        theirs.push(...native.samples)
      } else reason = native.reason
    }
    const label = `WGSL ${program}, Dawn (Chromium's WebGPU) in Node, ${adapterName}`
    if (!theirs.length) console.log(`bench gpu: no native baseline (${reason})`)
    const baseline = theirs.length ? { name: baselineName, value: gflops(n, quantile(theirs, 0.5)) } : null
    return [
      row(`matmul gpu kernel (${label}) n=${n}`, gflops(n, quantile(ours, 0.5)), 'GFLOP/s', baseline),
      dispatchRow({ program, seconds: ours, dispatchMs, verified: true }, label),
    ]
  } finally {
    device.destroy()
  }
}

export interface GpuBenchOptions {
  /** The product's size on a real GPU. @default 4096 (MESHWORK_BENCH_GPU_N) */
  n?: number
  /** Timed products per round. @default 5 */
  runs?: number
  /** Rounds alternating ours and the baseline. @default 3 */
  rounds?: number
}

export async function benchGpu(options: GpuBenchOptions = {}): Promise<BenchRow[]> {
  const { n = Number(process.env.MESHWORK_BENCH_GPU_N ?? 4096), runs = 5, rounds = 3 } = options
  return [...(await inChromium(n, runs)), ...(await inDawn(n, runs, rounds))]
}
