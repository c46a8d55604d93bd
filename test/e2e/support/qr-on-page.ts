/** Reads the QR code an element of a page shows (an img or a canvas), as a phone's camera would. */
import type { Locator } from 'playwright-core';
import { readQrPng } from '../../helpers/qr.js';

export async function readQrOnPage(element: Locator): Promise<string | undefined> {
  const dataUrl = await element.evaluate(async (node) => {
    if (node instanceof HTMLCanvasElement) return node.toDataURL('image/png');
    const img = node as HTMLImageElement;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext('2d')!.drawImage(img, 0, 0);
    return canvas.toDataURL('image/png');
  });
  return readQrPng(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
}
