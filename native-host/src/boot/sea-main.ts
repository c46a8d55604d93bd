/**
 * The single executable's entry (Node SEA, built by scripts/package/): anaf-token.exe on
 * Windows, anaf-token on macOS and in the .deb. The blob carries the same host bundle as
 * dist/ (and the PKCS#11 worker) as assets; this file runs one of them as a CommonJS module
 * whose file is taken to sit beside the executable, so that its `require` (and any
 * createRequire(import.meta.url)) resolves packages from `node_modules` beside the executable:
 * native addons cannot be loaded from inside the blob, so they ship there as files.
 *
 * - `chrome-extension://ID/` as the first argument means the browser started us (Chrome and Edge
 *   on Windows go through `cmd /d /c "exe" chrome-extension://ID/ --parent-window=N`, on macOS
 *   and Linux the executable directly): the manifest points at the executable itself, with no
 *   launcher script to add `native`, so it is added here.
 * - WORKER_SUBCOMMAND runs the PKCS#11 worker (config/entry.ts's workerArgs()).
 *
 * No code cache: V8's cache is tied to the exact V8 build and flags, and the blob is made on
 * Linux for every platform (`useCodeCache: false`).
 */
import Module from 'node:module';
import path from 'node:path';
import { getAsset } from 'node:sea';
import vm from 'node:vm';
import { usePrivateUmask } from './umask.js';
import { HOST_ASSET, WORKER_ASSET, WORKER_SUBCOMMAND } from './sea-names.js';

usePrivateUmask();

type CommonJsBody = (exports: object, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

function runAsset(name: string): void {
  const dir = path.dirname(process.execPath);
  const filename = path.join(dir, name);
  // The assets are ASCII (scripts/build-host.mjs checks the host bundle; sea.mjs the worker).
  const source = getAsset(name, 'latin1');
  const body = new vm.Script(source, { filename }).runInThisContext() as CommonJsBody;
  const mod = new Module(filename, module);
  mod.filename = filename;
  body.call(mod.exports, mod.exports, Module.createRequire(filename), mod, filename, dir);
}

const first = process.argv[2];
if (first === WORKER_SUBCOMMAND) {
  process.argv.splice(2, 1);
  runAsset(WORKER_ASSET);
} else {
  if (first !== undefined && first.startsWith('chrome-extension://')) process.argv.splice(2, 0, 'native');
  runAsset(HOST_ASSET);
}
