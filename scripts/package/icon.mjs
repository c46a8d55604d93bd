// The application icon: the extension's own committed PNGs (extension/icons/, made by
// extension/tools/make-icons.ts), put in an .ico as PNG images (Windows Vista and later read them).
import fs from 'node:fs';

const SIZES = [16, 32, 48, 128];

export function ico() {
  const images = SIZES.map((size) => {
    const data = fs.readFileSync(new URL(`../../extension/icons/icon-${size}.png`, import.meta.url));
    // IHDR's width and height: the file must be the size its name says.
    if (data.readUInt32BE(16) !== size || data.readUInt32BE(20) !== size) throw new Error(`extension/icons/icon-${size}.png is not ${size}×${size}`);
    return { size, data };
  });
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach((img, i) => {
    const e = 6 + 16 * i;
    header[e] = img.size; // width, height (all below 256)
    header[e + 1] = img.size;
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(img.data.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += img.data.length;
  });
  return Buffer.concat([header, ...images.map((i) => i.data)]);
}
