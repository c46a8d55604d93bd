// The extension as the Chrome Web Store and Edge Add-ons take it: the production build
// (dist/extension, `npm run build:extension`) without source maps, and without the manifest's
// `key` (the stores refuse it: "key field is not allowed in manifest"; they assign the ID).
import fs from 'node:fs';
import path from 'node:path';
import { run } from './run.mjs';

export function extensionZip({ built, work, output }) {
  const manifest = JSON.parse(fs.readFileSync(path.join(built, 'manifest.json'), 'utf8'));
  if (String(manifest.version_name ?? '').includes('e2e')) throw new Error(`${built} is the test build`);
  const stage = path.join(work, 'extension');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.cpSync(built, stage, { recursive: true, filter: (src) => !src.endsWith('.map') && path.basename(src) !== '.vite' });
  delete manifest.key;
  fs.writeFileSync(path.join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // No pointer to a map that is not shipped.
  for (const f of walk(stage).filter((f) => f.endsWith('.js') || f.endsWith('.css'))) {
    const text = fs.readFileSync(f, 'utf8');
    const stripped = text.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*$/gm, '');
    if (stripped !== text) fs.writeFileSync(f, stripped);
  }
  fs.rmSync(output, { force: true });
  // -X: no extra attributes (uid, times beyond the DOS ones); sorted names: the same input, the same zip.
  run('zip', ['-X', '-q', '-r', path.resolve(output), ...fs.readdirSync(stage).sort()], { cwd: stage });
  return { version: manifest.version };
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
