/**
 * DATA_DIR/chain.json: where `npm run chain` left its local chain and contract, for the hub to pick up at start.
 * Written atomically (temp file, then rename), so a hub starting meanwhile reads the old file or the new one.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { getAddress, isAddress, type Address } from 'viem'
import { z } from 'zod'
import { describeZodError } from '../../protocol/schemas.ts'

/** The file in DATA_DIR that `npm run chain` writes. */
export const CHAIN_FILE = 'chain.json'

export const ChainFile = z.object({
  chainId: z.int().positive(),
  rpcUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  contract: z
    .string()
    .refine((text) => isAddress(text), 'must be a 0x-prefixed 20-byte address')
    .transform((text) => getAddress(text) as Address),
})
export type ChainFile = z.infer<typeof ChainFile>

/** The absolute path of DATA_DIR/chain.json. */
export function chainFilePath(dataDir: string): string {
  return path.resolve(dataDir, CHAIN_FILE)
}

/** DATA_DIR/chain.json, or undefined when there is none; a malformed file is an error that names it. */
export async function readChainFile(dataDir: string): Promise<ChainFile | undefined> {
  const file = chainFilePath(dataDir)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error(`${file} is not valid JSON. Run \`npm run chain\` to write it again, or delete it.`)
  }
  const parsed = ChainFile.safeParse(value)
  if (!parsed.success) {
    throw new Error(
      `${file} must hold { chainId, rpcUrl, contract } (${describeZodError(parsed.error)}). ` +
        'Run `npm run chain` to write it again, or delete it.',
    )
  }
  return parsed.data
}

/** Writes DATA_DIR/chain.json atomically. */
export async function writeChainFile(dataDir: string, value: ChainFile): Promise<string> {
  const file = chainFilePath(dataDir)
  await fs.mkdir(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`)
  await fs.rename(tmp, file)
  return file
}
