/**
 * Loads koffi (a C FFI for Node) once, for the few OS libraries we call without an addon of our
 * own: DPAPI and the certificate store on Windows (crypt32), PKCS#11 drivers.
 *
 * koffi 2.x ships every platform's `koffi.node` inside its one npm tarball (build/koffi/<triplet>/),
 * so a packager on Linux has the win32_x64 and darwin binaries after a plain `npm ci`. koffi's own
 * index.js is not used: a bundler cannot follow its `require('./build/koffi/…/koffi.node')`, and a
 * single executable has no node_modules. The native module is the whole API (index.js only adds
 * deprecated aliases), so it is opened directly with process.dlopen, from the first of:
 *   1. `koffi/<platform>_<arch>/koffi.node` beside this code (the esbuild bundle's folder),
 *   2. the same beside the executable, when this is a Node single executable application,
 *   3. node_modules/koffi/build/koffi/<platform>_<arch>/koffi.node (sources, tests, dist/ in a clone).
 * ANAF_TOKEN_KOFFI names the file instead, for a layout none of these covers.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSea } from 'node:sea';
import type * as KoffiApi from 'koffi';

export type Koffi = typeof KoffiApi;

/**
 * koffi's folder names for this platform, in the order to try: win32_x64, darwin_arm64; on Linux
 * the glibc build, then the musl one (the wrong one fails to open, as koffi's own loader does it).
 */
export function koffiTriplets(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string[] {
  const a = arch === 'arm' ? 'armhf' : arch === 'riscv64' ? 'riscv64d' : arch;
  return platform === 'linux' ? [`linux_${a}`, `musl_${a}`] : [`${platform}_${a}`];
}

function here(): string | undefined {
  try {
    return path.dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
}

function koffiPackage(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('koffi/package.json'));
  } catch {
    return undefined;
  }
}

/** Where koffi.node is looked for, in order. */
export function koffiCandidates(env: NodeJS.ProcessEnv = process.env, triplets = koffiTriplets()): string[] {
  if (env.ANAF_TOKEN_KOFFI) return [env.ANAF_TOKEN_KOFFI];
  // Beside the executable only when we are that executable (a SEA): otherwise process.execPath
  // is a `node` whose folder may be shared with others.
  const dirs = [here(), isSea() ? path.dirname(process.execPath) : undefined].filter((d): d is string => d !== undefined);
  const pkg = koffiPackage();
  return [
    ...new Set([
      ...dirs.flatMap((d) => triplets.map((t) => path.join(d, 'koffi', t, 'koffi.node'))),
      ...(pkg ? triplets.map((t) => path.join(pkg, 'build', 'koffi', t, 'koffi.node')) : []),
    ]),
  ];
}

let loaded: { koffi: Koffi; file: string } | undefined;

/** koffi, loaded on first use; throws an Error naming every place looked at when it is nowhere. */
export function loadKoffi(): Koffi {
  return loadedKoffi().koffi;
}

/** The file koffi was loaded from (for diagnostics). */
export function koffiFile(): string {
  return loadedKoffi().file;
}

function loadedKoffi(): { koffi: Koffi; file: string } {
  if (loaded) return loaded;
  const tried = koffiCandidates();
  let firstError: unknown;
  for (const file of tried) {
    if (!fs.existsSync(file)) continue;
    const mod = { exports: {} as unknown };
    try {
      process.dlopen(mod, file);
    } catch (e) {
      firstError ??= e;
      continue;
    }
    loaded = { koffi: mod.exports as Koffi, file };
    return loaded;
  }
  const why = firstError instanceof Error ? `: ${firstError.message}` : ' (not found)';
  throw new Error(`koffi.node could not be loaded${why}; looked in ${tried.join(', ')}`);
}

export type KoffiType = ReturnType<Koffi['resolve']>;
/** A struct's members: name → koffi type name (or type). */
export type StructDef = Record<string, string | KoffiType>;

/** A named struct, declared once per process: koffi refuses a second declaration of a name, and several modules may need one. */
export function namedStruct(koffi: Koffi, name: string, def: StructDef): KoffiType {
  try {
    return koffi.resolve(name);
  } catch {
    return koffi.struct(name, def);
  }
}
