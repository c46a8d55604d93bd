/**
 * The single executable's entry (Node SEA, built by scripts/package/): anaf-token.exe on
 * Windows, anaf-token on macOS and in the .deb. The blob carries the same host bundle as
 * dist/, the PKCS#11 worker and the pure-JS packages the bundle leaves external, as assets;
 * this file runs one of them as a CommonJS module whose file is taken to sit beside the
 * executable. Its `require` serves the carried packages from the blob; anything else (a native
 * addon cannot be loaded from inside the blob) comes from `node_modules` beside the executable,
 * as does whatever createRequire(import.meta.url) finds.
 *
 * - `chrome-extension://ID/` as the first argument means the browser started us (Chrome and Edge
 *   on Windows go through `cmd /d /c "exe" chrome-extension://ID/ --parent-window=N`, on macOS
 *   and Linux the executable directly): the manifest points at the executable itself, with no
 *   launcher script to add `native`, so it is added here.
 * - WORKER_SUBCOMMAND runs the PKCS#11 worker (config/entry.ts's workerArgs()).
 *
 * The blob has no code cache (V8's is tied to the exact V8 build and flags, and the blob is
 * made on Linux for every platform: `useCodeCache: false`); the host bundle gets one made on the
 * user's machine instead (code-cache.ts).
 */
import Module from 'node:module';
import path from 'node:path';
import { getAsset } from 'node:sea';
import vm from 'node:vm';
import { usePrivateUmask } from './umask.js';
import { compileCached } from './code-cache.js';
import { HOST_ASSET, MODULES_ASSET, PACKAGE_CONFIG_ASSET, WORKER_ASSET, WORKER_SUBCOMMAND } from './sea-names.js';

usePrivateUmask();

type CommonJsBody = (exports: object, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

/**
 * Packages come from `node_modules` beside the executable and nowhere else. Node would also
 * look in every parent folder's node_modules, and on Windows any user may create
 * C:\node_modules: a package planted there would run as whoever starts anaf-token.
 */
function onlyOwnNodeModules(from: string): void {
  const own = [path.join(from, 'node_modules')];
  (Module as unknown as { _nodeModulePaths: (from: string) => string[] })._nodeModulePaths = () => own;
  // Nor NODE_PATH, ~/.node_modules or <prefix>/lib/node (on macOS, /Applications/lib/node).
  (Module as unknown as { globalPaths: string[] }).globalPaths.splice(0);
}

/** Runs a CommonJS function expression from the blob as the module `filename`; through the code cache when given its name. */
function runModule(asset: string, filename: string, parent: Module | null, cacheName?: string): Module {
  // The assets are ASCII (scripts/build-host.mjs and scripts/package/sea.mjs check).
  const source = getAsset(asset, 'latin1');
  const script = cacheName ? compileCached(source, filename, cacheName) : new vm.Script(source, { filename });
  const body = script.runInThisContext() as CommonJsBody;
  const mod = new Module(filename, parent ?? undefined);
  mod.filename = filename;
  body.call(mod.exports, mod.exports, requireFor(filename), mod, filename, path.dirname(filename));
  mod.loaded = true;
  return mod;
}

const dir = path.dirname(process.execPath);
const carried = new Set(JSON.parse(getAsset(MODULES_ASSET, 'utf8')) as string[]);
const loaded = new Map<string, Module>();

/** Node's require for `filename`, except that the packages carried in the blob come from there. */
function requireFor(filename: string): NodeJS.Require {
  const base = Module.createRequire(filename);
  const req = ((id: string): unknown => {
    if (!carried.has(id)) return base(id);
    let mod = loaded.get(id);
    if (!mod) {
      mod = runModule(`module:${id}`, path.join(dir, 'node_modules', id, 'index.js'), null);
      loaded.set(id, mod);
    }
    return mod.exports;
  }) as NodeJS.Require;
  return Object.assign(req, { resolve: base.resolve, cache: base.cache, extensions: base.extensions, main: base.main });
}

onlyOwnNodeModules(dir);

const first = process.argv[2];
if (first === WORKER_SUBCOMMAND) {
  process.argv.splice(2, 1);
  runModule(WORKER_ASSET, path.join(dir, WORKER_ASSET), null);
} else {
  if (first !== undefined && first.startsWith('chrome-extension://')) process.argv.splice(2, 0, 'native');
  // The host bundle's own name (host-<content hash>.cjs) names its code cache.
  const { hostBundle } = JSON.parse(getAsset(PACKAGE_CONFIG_ASSET, 'utf8')) as { hostBundle?: string };
  runModule(HOST_ASSET, path.join(dir, HOST_ASSET), null, hostBundle);
}
