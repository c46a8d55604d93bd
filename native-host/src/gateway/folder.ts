/**
 * A downloaded message, unpacked into its own folder: <root>/<cif>/<id>/ with ANAF's document
 * (the invoice, or the errors of a rejected one), ANAF's signature over it, the ZIP as sent, and
 * for errors a plain-text list. Written to a temporary folder first and renamed into place, so a
 * folder that exists is whole. The file names are ANAF's, already checked by unpackMessage.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DownloadedMessage } from '../efactura/index.js';
import type { DownloadRecord } from './types.js';

export function messageFolder(root: string, cif: string, id: string): string {
  if (!/^\d{1,13}$/.test(cif) || !/^\d{1,20}$/.test(id)) throw new Error('cif and id are digits');
  return path.join(root, cif, id);
}

export function saveMessage(root: string, cif: string, id: string, m: DownloadedMessage, now: number): DownloadRecord {
  const folder = messageFolder(root, cif, id);
  fs.mkdirSync(path.dirname(folder), { recursive: true, mode: 0o700 });
  const tmp = `${folder}.part-${process.pid}-${Date.now()}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { mode: 0o700 });
  const files: [string, Buffer][] = [
    [m.document.name, m.document.data],
    [m.signature.name, m.signature.data],
    [`${id}.zip`, m.zip],
  ];
  if (m.kind === 'errors') files.push(['errors.txt', Buffer.from(m.errors.join('\n') + '\n', 'utf8')]);
  for (const [name, data] of files) {
    const fd = fs.openSync(path.join(tmp, name), 'wx', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fs.rmSync(folder, { recursive: true, force: true });
  fs.renameSync(tmp, folder);
  return { cif, id, folder, kind: m.kind, files: files.map(([n]) => n), at: now };
}

/** Whether a recorded download is still whole on disk. */
export function stillThere(d: DownloadRecord): boolean {
  return d.files.every((f) => fs.existsSync(path.join(d.folder, f)));
}
