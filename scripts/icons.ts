/**
 * Draws the app icons (a small mesh of nodes on Meshwork blue) into public/icons as PNG, with no image library:
 * signed distances, 4x4 supersampling, and zlib for the PNG's IDAT. Run with `node --import tsx scripts/icons.ts`
 * after changing the design; the PNGs are committed like any other source asset.
 */
import { writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

const BG = [0x1d, 0x3b, 0x6f]
const FG = [0xff, 0xff, 0xff]
const ACCENT = [0x9c, 0xc3, 0xff]

/** Nodes in a unit square and the edges between them. */
const NODES: [number, number][] = [[0.5, 0.2], [0.22, 0.42], [0.78, 0.42], [0.32, 0.78], [0.68, 0.78], [0.5, 0.52]]
const EDGES: [number, number][] = [[0, 1], [0, 2], [1, 3], [2, 4], [3, 4], [5, 0], [5, 1], [5, 2], [5, 3], [5, 4]]

function segmentDistance(px: number, py: number, [ax, ay]: [number, number], [bx, by]: [number, number]): number {
  const dx = bx - ax
  const dy = by - ay
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy))
}

/** Colour at a point of the unit square; `scale` shrinks the drawing toward the centre (maskable safe zone). */
function shade(x: number, y: number, scale: number, rounded: boolean): number[] | undefined {
  if (rounded) {
    // A rounded square with 18 % corner radius; transparent outside.
    const r = 0.18
    const qx = Math.max(Math.abs(x - 0.5) - (0.5 - r), 0)
    const qy = Math.max(Math.abs(y - 0.5) - (0.5 - r), 0)
    if (Math.hypot(qx, qy) > r) return undefined
  }
  const u = (x - 0.5) / scale + 0.5
  const v = (y - 0.5) / scale + 0.5
  for (const node of NODES) if (Math.hypot(u - node[0], v - node[1]) < 0.075) return node === NODES[5] ? ACCENT : FG
  for (const [a, b] of EDGES) if (segmentDistance(u, v, NODES[a], NODES[b]) < 0.018) return ACCENT
  return BG
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'ascii')
  out.set(data, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

function png(size: number, scale: number, rounded: boolean): Buffer {
  const S = 4
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0 // filter: none
    for (let x = 0; x < size; x++) {
      const sum = [0, 0, 0, 0]
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const c = shade((x + (sx + 0.5) / S) / size, (y + (sy + 0.5) / S) / size, scale, rounded)
          if (!c) continue
          sum[0] += c[0]
          sum[1] += c[1]
          sum[2] += c[2]
          sum[3] += 255
        }
      }
      const o = y * (size * 4 + 1) + 1 + x * 4
      const a = sum[3] / (S * S)
      raw[o] = a ? Math.round(sum[0] / (sum[3] / 255)) : 0
      raw[o + 1] = a ? Math.round(sum[1] / (sum[3] / 255)) : 0
      raw[o + 2] = a ? Math.round(sum[2] / (sum[3] / 255)) : 0
      raw[o + 3] = Math.round(a)
    }
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 6 // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ])
}

const out = new URL('../public/icons/', import.meta.url)
writeFileSync(new URL('icon-192.png', out), png(192, 1, true))
writeFileSync(new URL('icon-512.png', out), png(512, 1, true))
// Maskable: full-bleed background, the drawing inside the central 80 % safe zone.
writeFileSync(new URL('maskable-512.png', out), png(512, 0.72, false))
writeFileSync(new URL('apple-touch-icon.png', out), png(180, 0.85, false))
console.log('icons written to public/icons')
