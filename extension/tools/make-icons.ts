/**
 * Draws the extension's PNG icons (a key on a rounded blue square) without an image library,
 * so the committed icons can be regenerated: `npx tsx extension/tools/make-icons.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

type Rgba = [number, number, number, number];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const [r, g, b, a] = pixel(x, y);
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
      raw[o + 3] = a;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Coverage of a shape at pixel (x, y), 4x4 supersampled, in unit coordinates. */
function coverage(size: number, x: number, y: number, inside: (u: number, v: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (inside((x + (i + 0.5) / 4) / size, (y + (j + 0.5) / 4) / size)) n++;
  return n / 16;
}

const BLUE: Rgba = [29, 78, 216, 255];
const WHITE: Rgba = [255, 255, 255, 255];

function roundedSquare(u: number, v: number): boolean {
  const r = 0.2;
  const cx = Math.min(Math.max(u, r), 1 - r);
  const cy = Math.min(Math.max(v, r), 1 - r);
  return (u - cx) ** 2 + (v - cy) ** 2 <= r * r;
}

function key(u: number, v: number): boolean {
  const d = Math.hypot(u - 0.34, v - 0.5);
  const ring = d <= 0.2 && d >= 0.09;
  const shaft = u >= 0.5 && u <= 0.84 && Math.abs(v - 0.5) <= 0.055;
  const tooth1 = u >= 0.66 && u <= 0.73 && v >= 0.5 && v <= 0.68;
  const tooth2 = u >= 0.77 && u <= 0.84 && v >= 0.5 && v <= 0.64;
  return ring || shaft || tooth1 || tooth2;
}

function icon(size: number): Buffer {
  return png(size, (x, y) => {
    const bg = coverage(size, x, y, roundedSquare);
    const fg = coverage(size, x, y, key);
    if (bg === 0) return [0, 0, 0, 0];
    const mix = (a: number, b: number) => Math.round(a * (1 - fg) + b * fg);
    return [mix(BLUE[0], WHITE[0]), mix(BLUE[1], WHITE[1]), mix(BLUE[2], WHITE[2]), Math.round(255 * bg)];
  });
}

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'icons');
fs.mkdirSync(dir, { recursive: true });
for (const size of [16, 32, 48, 128]) fs.writeFileSync(path.join(dir, `icon-${size}.png`), icon(size));
process.stdout.write(`icons written to ${dir}\n`);
