/**
 * Reads QR codes back, so tests check that what we draw is a code a phone's camera can read and
 * that it carries the very text (not only that an image was made).
 */
import jsqr from 'jsqr';
import { PNG } from 'pngjs';

/** The text of the QR code in RGBA pixels; undefined when no code is found. */
export function readQrPixels(rgba: Uint8ClampedArray, width: number, height: number): string | undefined {
  // jsqr is CommonJS: its function is the module's `default` (and, at run time, the module itself).
  return jsqr.default(rgba, width, height)?.data;
}

export function readQrPng(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  return readQrPixels(new Uint8ClampedArray(image.data), image.width, image.height);
}
