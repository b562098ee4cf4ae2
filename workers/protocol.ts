/** What crosses the worker boundary: tasks in, outcomes out. Errors travel as data, never as thrown objects. */
import type { Backend, ErrorCode } from '../protocol/index.ts'

/** The CPU kernels: the WebAssembly SIMD builds (relaxed: with FMA) and the portable JavaScript one. */
export type CpuKernel = 'wasm-relaxed-simd' | 'wasm-simd' | 'js'

export interface ComputeTask {
  taskId: string
  workload: string
  spec: Record<string, unknown>
  /**
   * Input blobs in the order the kernel expects: bytes (runAcross transfers them) or Blob handles, which the worker
   * reads itself, so the page copies nothing (the contribute loop).
   */
  inputs: (Uint8Array | Blob)[]
  /**
   * The inputs' hashes, when they are Blobs: the worker keeps recently read inputs by hash (see runtime.ts), so units
   * sharing an input (a tile row shares A) do not read it again. @default undefined (no caching)
   */
  inputHashes?: string[]
  backend: Backend
  /**
   * Save the unit's progress to IndexedDB every `everyMs` at a slice boundary, and resume from the last save if there
   * is one (workers/checkpoint.ts; CPU kernels only: a GPU unit's dispatches are short and it restarts).
   * @default undefined (no checkpoints)
   */
  checkpoint?: { key: string; everyMs: number }
  /**
   * Forces a CPU kernel (benchmarks and tests); one the engine lacks fails the task.
   * @default the fastest this engine runs: wasm-relaxed-simd, else wasm-simd, else js
   */
  cpuKernel?: CpuKernel
  /**
   * 'blob': the worker wraps the output in a Blob before it returns, so the page gets a handle and never copies the
   * bytes on its thread (the contribute loop stores the Blob in IndexedDB as it is). @default bytes (a Uint8Array)
   */
  outputAs?: 'blob'
}

export type ComputeOutcome<Output extends Uint8Array | Blob = Uint8Array> = (
  | { ok: true; output: Output; elapsedMs: number; backend: Backend; kernel: CpuKernel | 'webgpu' }
  | { ok: false; code: ErrorCode; message: string }
) & {
  /** Set when the worker handed the inputs back through `onInputsFree` (the caller had them before this outcome). */
  inputsFreed?: true
}

export interface GpuProbe {
  available: boolean
  /** SwiftShader and other software adapters. */
  isFallbackAdapter: boolean
  name: string
  /** Why WebGPU is unavailable, when it is. */
  reason?: string
}

/**
 * The API a compute worker exposes through comlink. The runtime inside it (workers/runtime.ts) always returns bytes
 * (`ComputeWorkerApi<Uint8Array>`); the worker wraps them in a Blob when the task asks (`outputAs`).
 */
export interface ComputeWorkerApi<Output extends Uint8Array | Blob = Uint8Array | Blob> {
  /**
   * Runs one task; `onProgress` (a comlink proxy) receives fractions in [0, 1]. `onInputsFree`, when given, gets the
   * task's input buffers back (transferred) as soon as the kernel reads them no more: right after the WebAssembly
   * kernel copied them into its memory, else when the task ends. WorkerPool.runAcross passes them on to the next part.
   */
  run(task: ComputeTask, onProgress: (fraction: number) => void, onInputsFree?: (inputs: Uint8Array[]) => void): Promise<ComputeOutcome<Output>>
  /** Asks a running task to stop at its next check (a few ms). */
  cancel(taskId: string): void
  /**
   * Sets the fraction of the time this worker's CPU kernels compute (the governor's throttle; 0 pauses them at their
   * next slice, keeping their progress). Applies from the next slice. @default 1
   */
  setDuty(duty: number): void
  /** Looks for a WebGPU adapter from inside the worker, where the GPU kernel runs. */
  probeGpu(): Promise<GpuProbe>
}
