import { benchKernel } from './kernel.ts'
const spec = process.argv[2] ? JSON.parse(process.argv[2]) : undefined
console.log(JSON.stringify(await benchKernel([], { rounds: 4, runs: 5, ...(spec ? { allCoresSpec: spec } : {}) }), null, 1))
