// SHA256SUMS of every artifact, in the format `sha256sum -c` reads.
import fs from 'node:fs';
import path from 'node:path';
import { sha256File } from './run.mjs';

export function writeSums(dir) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f !== 'SHA256SUMS' && fs.statSync(path.join(dir, f)).isFile())
    .sort();
  const text = files.map((f) => `${sha256File(path.join(dir, f))}  ${f}\n`).join('');
  fs.writeFileSync(path.join(dir, 'SHA256SUMS'), text);
  return files;
}
