// The Node 22 binaries the single executables are made from: the npm registry's per-platform
// packages (the only Node source CI can reach), fetched with `npm pack`, each tarball checked
// against the sha512 pinned in pins/node.json before it is unpacked, then the binary against
// its pinned SHA-256. Kept in .artifacts/package-cache/ between runs (checked again each time).
import fs from 'node:fs';
import path from 'node:path';
import { run, sha256File, sha512Integrity } from './run.mjs';

const pins = JSON.parse(fs.readFileSync(new URL('./pins/node.json', import.meta.url), 'utf8'));
export const NODE_VERSION = pins.version;
export const AUTHENTICODE = { ...pins.authenticode, root: new URL(`./pins/${pins.authenticode.root}`, import.meta.url).pathname };

/** The checked Node binary for a target ('win-x64', 'linux-x64', 'darwin-arm64', 'darwin-x64'). */
export function nodeBinary(target, cacheDir) {
  const pin = pins.packages[target];
  if (!pin) throw new Error(`no pinned Node package for ${target} (scripts/package/pins/node.json)`);
  const dir = path.join(cacheDir, `${pin.package}-${pins.version}`);
  const binary = path.join(dir, 'package', pin.binary);
  if (fs.existsSync(binary) && sha256File(binary) === pin.sha256) return binary;

  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // --ignore-scripts: nothing of the package runs; it is only unpacked, after the check.
  run('npm', ['pack', `${pin.package}@${pins.version}`, '--ignore-scripts', '--silent', '--pack-destination', dir]);
  const tgz = path.join(dir, `${pin.package}-${pins.version}.tgz`);
  const got = sha512Integrity(tgz);
  if (got !== pin.integrity) throw new Error(`${pin.package}@${pins.version}: tarball sha512 ${got} is not the pinned ${pin.integrity}`);
  run('tar', ['-xzf', tgz, '-C', dir, '--no-same-owner', `package/${pin.binary}`]);
  fs.rmSync(tgz);
  const sha = sha256File(binary);
  if (sha !== pin.sha256) throw new Error(`${pin.package}: ${pin.binary} SHA-256 ${sha} is not the pinned ${pin.sha256}`);
  return binary;
}
