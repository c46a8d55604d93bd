// The application icon, drawn here rather than committed as a binary: a blue rounded square
// with a white USB key (a round head with a hole, a blade with two teeth). PNG images in an
// .ico (Windows Vista and later read them), sizes 16 to 256.
import zlib from 'node:zlib';

const SIZES = [16, 24, 32, 48, 64, 256];
const BLUE = [0x1d, 0x4e, 0xd8];

/** Coverage (0..1) of the shape at a point in a 1×1 square. */
function shape(x, y) {
  const inside = (px, py) => {
    // Rounded square background.
    const r = 0.18;
    const qx = Math.max(Math.abs(px - 0.5) - (0.5 - r), 0);
    const qy = Math.max(Math.abs(py - 0.5) - (0.5 - r), 0);
    if (qx * qx + qy * qy > r * r) return 0;
    // The key: a ring, a blade, two teeth.
    const d = Math.hypot(px - 0.33, py - 0.5);
    const ring = d < 0.17 && d > 0.075;
    const blade = px > 0.45 && px < 0.84 && Math.abs(py - 0.5) < 0.055;
    const teeth = py >= 0.5 && py < 0.66 && ((px > 0.66 && px < 0.72) || (px > 0.76 && px < 0.83));
    return ring || blade || teeth ? 2 : 1;
  };
  return inside(x, y);
}

function rgba(size) {
  const px = Buffer.alloc(size * size * 4);
  const n = 4; // 4×4 samples per pixel
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let bg = 0;
      let fg = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const s = shape((x + (i + 0.5) / n) / size, (y + (j + 0.5) / n) / size);
          if (s === 1) bg++;
          if (s === 2) fg++;
        }
      }
      const a = (bg + fg) / (n * n);
      const white = a > 0 ? fg / (bg + fg) : 0;
      const o = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) px[o + c] = Math.round(BLUE[c] * (1 - white) + 255 * white);
      px[o + 3] = Math.round(a * 255);
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

export function png(size) {
  const raw = rgba(size);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) raw.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** An .ico file holding one PNG per size. */
export function ico() {
  const images = SIZES.map((s) => ({ size: s, data: png(s) }));
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach((img, i) => {
    const e = 6 + 16 * i;
    header[e] = img.size >= 256 ? 0 : img.size;
    header[e + 1] = img.size >= 256 ? 0 : img.size;
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(img.data.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += img.data.length;
  });
  return Buffer.concat([header, ...images.map((i) => i.data)]);
}
