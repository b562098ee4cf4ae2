/**
 * The worker side of the pool: runs one task at a time per worker with the kernel its workload and backend call for,
 * reports progress, honours cancellation between slices, and returns errors as data. A lost GPU device is
 * recreated once; if the second attempt fails too the task fails with `compute_failed` and the pool retries it on
 * the CPU (the message says why). On the CPU the WebAssembly SIMD kernel runs wherever the engine has SIMD (the
 * relaxed-SIMD build where it has that too), else the JS kernel.
 */
import { bytesToF32, f32ToBytes } from '../protocol/encoding.ts'
import { MatmulSpec } from '../workloads/matmul/descriptor.ts'
import { matmulCpu } from '../workloads/matmul/kernel-cpu.ts'
import { compileMatmulWasm, instantiateMatmulWasm, matmulWasm, type MatmulWasm, type MatmulWasmBuild } from '../workloads/matmul/kernel-wasm.ts'
import { blockCount, PrimesSpec } from '../workloads/primes/descriptor.ts'
import { primesOutputToBytes } from '../workloads/primes/generate.ts'
import { primesCpu } from '../workloads/primes/kernel-cpu.ts'
import { compilePrimesWasm, instantiatePrimesWasm, primesWasm, type PrimesWasm } from '../workloads/primes/kernel-wasm.ts'
import { openCheckpoints } from './checkpoint.ts'
import { getGpuDevice, probeGpu } from './gpu/device.ts'
import { matmulGpu } from './gpu/matmul.ts'
import type { ComputeOutcome, ComputeTask, ComputeWorkerApi, CpuKernel } from './protocol.ts'
import { wasmSimdLevel } from './wasm-features.ts'
import { interruptPause, setDuty, untilAllowed } from '../workloads/yield.ts'

const cancelled = new Set<string>()

/** A task whose inputs are bytes (Blob inputs were read first). */
type BytesTask = ComputeTask & { inputs: Uint8Array[] }

/** A kernel's output, and which kernel computed it; undefined when the task was cancelled. */
type KernelResult = { output: Uint8Array; kernel: CpuKernel | 'webgpu' } | undefined

/** Compiled WebAssembly builds, loaded once per worker. */
const wasmModules = new Map<MatmulWasmBuild, Promise<WebAssembly.Module>>()
/** Instances not computing a unit now. One is enough in a worker (one task at a time); each keeps its grown memory. */
const idleWasm: MatmulWasm[] = []

async function acquireWasm(build: MatmulWasmBuild): Promise<MatmulWasm> {
  const idle = idleWasm.findIndex((w) => w.build === build)
  if (idle >= 0) return idleWasm.splice(idle, 1)[0]
  let loading = wasmModules.get(build)
  if (!loading) {
    loading = compileMatmulWasm(build)
    // A failed load (offline before the service worker cached it) is tried again by the next unit.
    loading.catch(() => wasmModules.delete(build))
    wasmModules.set(build, loading)
  }
  return instantiateMatmulWasm(build, await loading)
}

/** The CPU kernel a task runs: the one it forces, else the fastest the engine has (JS if a build fails to load). */
async function chooseCpuKernel(task: BytesTask): Promise<{ name: CpuKernel; wasm?: MatmulWasm }> {
  const level = wasmSimdLevel()
  if (task.cpuKernel === 'js') return { name: 'js' }
  if (task.cpuKernel) {
    const build: MatmulWasmBuild = task.cpuKernel === 'wasm-relaxed-simd' ? 'relaxed-simd' : 'simd'
    if (level === 'none' || (build === 'relaxed-simd' && level !== 'relaxed-simd')) {
      throw new Error(`this engine has no WebAssembly ${build === 'relaxed-simd' ? 'relaxed SIMD' : 'SIMD'} for the ${task.cpuKernel} kernel`)
    }
    return { name: task.cpuKernel, wasm: await acquireWasm(build) }
  }
  if (level === 'none') return { name: 'js' }
  try {
    return { name: level === 'relaxed-simd' ? 'wasm-relaxed-simd' : 'wasm-simd', wasm: await acquireWasm(level) }
  } catch (error) {
    console.warn(`Meshwork: the WebAssembly kernel did not load (${(error as Error)?.message ?? error}); using the JS kernel.`)
    return { name: 'js' }
  }
}

async function runMatmul(task: BytesTask, onProgress: (f: number) => void, inputsCopied: () => void): Promise<KernelResult> {
  const parsed = MatmulSpec.safeParse(task.spec)
  if (!parsed.success) throw new TypeError(`unit spec is not a matmul spec: ${parsed.error.issues[0]?.message}`)
  const spec = parsed.data
  const [aBytes, bBytes] = task.inputs
  if (!aBytes || aBytes.byteLength !== spec.m * spec.k * 4) throw new RangeError(`input A is ${aBytes?.byteLength ?? 0} bytes, expected ${spec.m * spec.k * 4}`)
  if (!bBytes || bBytes.byteLength !== spec.k * spec.n * 4) throw new RangeError(`input B is ${bBytes?.byteLength ?? 0} bytes, expected ${spec.k * spec.n * 4}`)
  const a = bytesToF32(aBytes)
  const b = bytesToF32(bBytes)
  const ctx = { onProgress, isCancelled: () => cancelled.has(task.taskId), onInputsCopied: inputsCopied }
  if (task.backend === 'webgpu') {
    let lastError: unknown
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const { device } = await getGpuDevice()
        const c = await matmulGpu(device, spec, a, b, ctx)
        return c && { output: f32ToBytes(c), kernel: 'webgpu' }
      } catch (error) {
        lastError = error
      }
    }
    throw new Error(`WebGPU failed twice (${(lastError as Error)?.message ?? lastError})`)
  }
  const c = new Float32Array(spec.m * spec.n)
  const kernel = await chooseCpuKernel(task)
  const saves = task.checkpoint && (await openCheckpoints(task.checkpoint, task, new Uint8Array(c.buffer), spec.m))
  const cpuCtx = { ...ctx, resumeAt: saves?.resumeAt, onSlice: saves?.onSlice }
  let done: boolean
  try {
    done = kernel.wasm ? await matmulWasm(kernel.wasm, spec, a, b, c, cpuCtx) : await matmulCpu(spec, a, b, c, cpuCtx)
  } finally {
    if (kernel.wasm) idleWasm.push(kernel.wasm)
    await saves?.flush()
  }
  return done ? { output: f32ToBytes(c), kernel: kernel.name } : undefined
}

/** The compiled prime-counting kernel and an idle instance (one task at a time per worker). */
let primesModule: Promise<WebAssembly.Module> | undefined
let idlePrimes: PrimesWasm | undefined

/**
 * Primes run on the CPU whatever backend the task names (the workload has no GPU kernel): the WebAssembly kernel
 * where the engine has WebAssembly SIMD (its build's baseline), else, or when the task forces 'js', the JS kernel.
 */
async function runPrimes(task: BytesTask, onProgress: (f: number) => void, inputsCopied: () => void): Promise<KernelResult> {
  const parsed = PrimesSpec.safeParse(task.spec)
  if (!parsed.success) throw new TypeError(`unit spec is not a primes spec: ${parsed.error.issues[0]?.message}`)
  const spec = parsed.data
  const out = new Uint32Array(1 + blockCount(spec))
  const ctx = { onProgress, isCancelled: () => cancelled.has(task.taskId), onInputsCopied: inputsCopied }
  let wasm: PrimesWasm | undefined
  if (task.cpuKernel !== 'js' && wasmSimdLevel() !== 'none') {
    try {
      if (idlePrimes) {
        wasm = idlePrimes
        idlePrimes = undefined
      } else {
        if (!primesModule) {
          primesModule = compilePrimesWasm()
          // A failed load (offline before the service worker cached it) is tried again by the next unit.
          primesModule.catch(() => (primesModule = undefined))
        }
        wasm = await instantiatePrimesWasm(await primesModule)
      }
    } catch (error) {
      console.warn(`Meshwork: the WebAssembly primes kernel did not load (${(error as Error)?.message ?? error}); using the JS kernel.`)
    }
  }
  const saves = task.checkpoint && (await openCheckpoints(task.checkpoint, task, new Uint8Array(out.buffer), blockCount(spec)))
  const cpuCtx = { ...ctx, resumeAt: saves?.resumeAt, onSlice: saves?.onSlice }
  let done: boolean
  try {
    done = wasm ? await primesWasm(wasm, spec, out, cpuCtx) : await primesCpu(spec, out, cpuCtx)
  } finally {
    if (wasm) idlePrimes = wasm
    await saves?.flush()
  }
  return done ? { output: primesOutputToBytes(out), kernel: wasm ? 'wasm-simd' : 'js' } : undefined
}

const kernels: Record<string, (task: BytesTask, onProgress: (f: number) => void, inputsCopied: () => void) => Promise<KernelResult>> = {
  matmul: runMatmul,
  primes: runPrimes,
}

async function runTask(task: BytesTask, onProgress: (f: number) => void, inputsCopied: () => void): Promise<ComputeOutcome> {
  const kernel = kernels[task.workload]
  if (!kernel) return { ok: false, code: 'bad_request', message: `this client has no kernel for workload "${task.workload}"` }
  const started = performance.now()
  try {
    const result = await kernel(task, onProgress, inputsCopied)
    if (!result) return { ok: false, code: 'cancelled', message: `task ${task.taskId} was cancelled` }
    const { output, kernel: name } = result
    // The backend that computed it: a CPU-only workload runs on the CPU even in a task leased for WebGPU.
    return { ok: true, output, elapsedMs: performance.now() - started, backend: name === 'webgpu' ? 'webgpu' : 'cpu', kernel: name }
  } catch (error) {
    return { ok: false, code: 'compute_failed', message: error instanceof Error ? error.message : String(error) }
  } finally {
    cancelled.delete(task.taskId)
  }
}

/**
 * Inputs read from Blobs, by hash, least recently used first. Reading a Blob costs about 6 ms a megabyte here (it
 * streams from the browser process), as much as a third of a unit's compute time, and consecutive units share inputs.
 */
const inputCache = new Map<string, Uint8Array>()
let inputCacheBytes = 0
/** Bytes of inputs a worker keeps. */
const INPUT_CACHE_BYTES = 96 * 1024 * 1024

async function readInput(input: Uint8Array | Blob, hash: string | undefined): Promise<Uint8Array> {
  if (!(input instanceof Blob)) return input
  const cached = hash && inputCache.get(hash)
  if (cached) {
    inputCache.delete(hash)
    inputCache.set(hash, cached)
    return cached
  }
  const bytes = new Uint8Array(await input.arrayBuffer())
  if (!hash || bytes.byteLength > INPUT_CACHE_BYTES || inputCache.has(hash)) return bytes
  inputCache.set(hash, bytes)
  inputCacheBytes += bytes.byteLength
  for (const [key, value] of inputCache) {
    if (inputCacheBytes <= INPUT_CACHE_BYTES) break
    inputCache.delete(key)
    inputCacheBytes -= value.byteLength
  }
  return bytes
}

/** Fewest milliseconds between two progress reports: each one is a message, and work, on the page's main thread. */
const PROGRESS_INTERVAL_MS = 100

/** Passes on the first report, then at most one per PROGRESS_INTERVAL_MS, and always the end (1). */
function throttleProgress(onProgress: (fraction: number) => void): (fraction: number) => void {
  let last = -Infinity
  return (fraction) => {
    const now = performance.now()
    if (fraction < 1 && now - last < PROGRESS_INTERVAL_MS) return
    last = now
    onProgress(fraction)
  }
}

/** The object a compute worker exposes. */
export const computeRuntime: ComputeWorkerApi<Uint8Array> = {
  async run(task, onProgress, onInputsFree) {
    // Hands the inputs back once, as early as the kernel allows, and at the latest when the task ends. The outcome
    // waits until the caller has them, so `inputsFreed` is only claimed for buffers that arrived.
    let handedBack: Promise<boolean> | undefined
    const freeInputs = () => {
      // Blob inputs (the contribute loop) are the page's own handles: nothing to hand back.
      if (handedBack || !onInputsFree || task.inputs.some((input) => input instanceof Blob)) return
      // Called now, not in a microtask: the kernel runs its first slice before it next awaits.
      try {
        handedBack = Promise.resolve(onInputsFree(task.inputs as Uint8Array[])).then(() => true, () => false)
      } catch {
        handedBack = Promise.resolve(false)
      }
    }
    // Blob inputs are read here, off the page's main thread (or found among those read for earlier units).
    const inputs = await Promise.all(task.inputs.map((input, i) => readInput(input, task.inputHashes?.[i])))
    // Paused by the governor while it was on its way: not even a first slice runs until work is allowed again.
    await untilAllowed(() => cancelled.has(task.taskId))
    const outcome = await runTask({ ...task, inputs }, throttleProgress(onProgress), freeInputs)
    freeInputs()
    return (await handedBack) ? { ...outcome, inputsFreed: true } : outcome
  },
  cancel(taskId) {
    cancelled.add(taskId)
    // A kernel paused by the governor (duty 0) must still see the cancel within a slice.
    interruptPause()
  },
  setDuty,
  probeGpu,
}
