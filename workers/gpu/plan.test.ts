import { describe, expect, it } from 'vitest'
import { chooseMatmulConfig, MATMUL_CONFIGS, matmulProgram, matmulTile, workgroupBytes } from '../../workloads/matmul/kernel-wgsl.ts'
import { planBand } from './matmul.ts'

const tile = { bm: 128, bn: 128, bk: 8 }

/** Every dispatch of a whole product as the runner cuts it with a fixed budget: [row0, rows, col0, cols, k0, k1]. */
function dispatches(budget: number, M: number, N: number, K: number) {
  const out: number[][] = []
  for (let row0 = 0; row0 < M; ) {
    const { rows, cols, kLen } = planBand(budget, M - row0, N, K, tile)
    for (let col0 = 0; col0 < N; col0 += cols) for (let k0 = 0; k0 < K; k0 += kLen) out.push([row0, rows, col0, Math.min(cols, N - col0), k0, Math.min(K, k0 + kLen)])
    row0 += rows
  }
  return out
}

describe('GPU dispatch planning', () => {
  for (const [budget, M, N, K] of [
    [5e7, 512, 512, 8192],
    [5e7, 4096, 4096, 4096],
    [1e12, 4096, 4096, 4096],
    [3e9, 384, 256, 1024],
    [1, 128, 128, 8],
  ]) {
    it(`covers every (row, column, k) of ${M}x${N}x${K} exactly once, each dispatch within a budget of ${budget} flops`, () => {
      const all = dispatches(budget, M, N, K)
      const minimum = 2 * tile.bm * tile.bn * tile.bk
      let covered = 0
      for (const [, rows, , cols, k0, k1] of all) {
        const flops = 2 * rows * cols * (k1 - k0)
        expect(flops).toBeLessThanOrEqual(Math.max(budget, minimum))
        expect(rows % tile.bm + cols % tile.bn + (k1 - k0) % tile.bk).toBe(0)
        covered += rows * cols * (k1 - k0)
      }
      expect(covered).toBe(M * N * K)
      // Distinct extents: no (row, column, k) block is computed twice.
      expect(new Set(all.map((d) => `${d[0]},${d[2]},${d[4]}`)).size).toBe(all.length)
    })
  }
})

describe('GPU matmul configuration', () => {
  const swiftShader = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 32768 }

  it('takes the 128 x 128 tile within WebGPU default limits for large products, a smaller one for small products', () => {
    expect(matmulTile(chooseMatmulConfig(swiftShader, 4096, 4096))).toEqual({ bm: 128, bn: 128, bk: 8 })
    expect(matmulTile(chooseMatmulConfig(swiftShader, 100, 512))).toEqual({ bm: 64, bn: 64, bk: 16 })
    expect(matmulTile(chooseMatmulConfig(swiftShader, 44, 20))).toEqual({ bm: 32, bn: 32, bk: 16 })
  })

  it('respects a device below the defaults (64 invocations, 4 KiB of workgroup memory)', () => {
    const small = { ...swiftShader, maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupStorageSize: 4096 }
    const config = chooseMatmulConfig(small, 4096, 4096)
    expect(config.wgX * config.wgY).toBeLessThanOrEqual(64)
    expect(workgroupBytes(config)).toBeLessThanOrEqual(4096)
    expect(() => chooseMatmulConfig({ ...small, maxComputeInvocationsPerWorkgroup: 32 }, 64, 64)).toThrow(/below every matmul configuration/)
  })

  it('names and keys each program by its configuration', () => {
    const programs = MATMUL_CONFIGS.map(matmulProgram)
    expect(new Set(programs.map((p) => p.cacheKey)).size).toBe(MATMUL_CONFIGS.length)
    expect(programs[0].name).toBe('matmul-vec4-128x128x8-wg16x16')
    expect(programs[0].wgsl).toContain('@workgroup_size(16, 16)')
  })
})
