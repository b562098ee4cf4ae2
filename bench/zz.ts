import { dawnAdapter } from '../workers/gpu/dawn.ts'
import { requestComputeDevice } from '../workers/gpu/device.ts'
import { matmulGpu } from '../workers/gpu/matmul.ts'
import { randomMatrix } from '../workloads/matmul/generate.ts'
const found = await dawnAdapter(true)
if ('reason' in found) throw new Error(found.reason)
console.log('adapter ok')
const device = await requestComputeDevice(found.adapter, 't')
console.log('device ok', device.limits.maxComputeInvocationsPerWorkgroup)
device.addEventListener?.('uncapturederror', (e: any) => console.log('uncaptured', e.error.message))
const c = await matmulGpu(device, { m: 3, n: 5, k: 7 }, randomMatrix(3, 7, 1), randomMatrix(7, 5, 2), { onProgress: () => {}, isCancelled: () => false })
console.log(c)
device.destroy()
