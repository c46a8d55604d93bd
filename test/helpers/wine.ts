/**
 * The one harness for running Windows code under Debian's wine:
 * - node.exe: the product's own (scripts/package/pins/node.json, fetched and checked by
 *   scripts/package/node-dist.mjs, tarball sha512 and binary SHA-256), in the packaging's cache;
 * - a wine prefix in a temp folder that says Windows 10 (Node 22 refuses older Windows),
 *   WINEDEBUG=-all, no Mono or Gecko prompts;
 * - a program run with stdin and stdout as files (wine's console pipes are not to be trusted:
 *   node.exe fails flushing a pipe, "Failed to sync '<stdout>'");
 * - a module bundled for Windows the way scripts/build-host.mjs bundles the host, with koffi's
 *   win32_x64 binary beside it or found in this clone's node_modules.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { nodeBinary } from '../../scripts/package/node-dist.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** `npm run package`'s cache (scripts/package/main.mjs): one download of node.exe for both. */
const NODE_CACHE = path.join(ROOT, '.artifacts', 'package-cache');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'anaf-token');

/** Why wine tests cannot run here, or undefined when they can. */
export function wineMissing(): string | undefined {
  const r = spawnSync('wine', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'wine is not installed (scripts/setup-debian.sh installs it: apt-get install wine wine64)';
}

export function wineVersion(): string {
  return spawnSync('wine', ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * The pinned node.exe. Fetched into a folder of this process's own and moved into the shared
 * cache, so that test files starting together on a fresh clone never unpack into one folder.
 */
export function nodeWinExe(): string {
  try {
    return nodeBinary('win-x64', NODE_CACHE);
  } catch {
    // Not there yet (or damaged): fetched apart, below.
  }
  fs.mkdirSync(NODE_CACHE, { recursive: true });
  const staging = fs.mkdtempSync(path.join(NODE_CACHE, '.staging-'));
  try {
    const exe = nodeBinary('win-x64', staging);
    const folder = path.relative(staging, exe).split(path.sep)[0]!;
    fs.rmSync(path.join(NODE_CACHE, folder), { recursive: true, force: true });
    try {
      fs.renameSync(path.join(staging, folder), path.join(NODE_CACHE, folder));
    } catch {
      // Another test file's copy got there first: checked below all the same.
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return nodeBinary('win-x64', NODE_CACHE);
}

/** A Linux path as the wine process sees it (Z: is the root). */
export const winPath = (p: string) => `Z:${path.resolve(p).replace(/\//g, '\\')}`;

/** The environment of a prefix's Windows processes; `extra` reaches them too. */
export function wineEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extra,
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // No Mono or Gecko installer prompts (nothing may be downloaded), and no crash debugger: a
    // crashed process ends at once, as on Windows with no debugger set, instead of waiting for
    // winedbg (which, on a loaded machine, held a crashed driver's worker past its deadline).
    WINEDLLOVERRIDES: 'mscoree,mshtml=;winedbg.exe=d',
  };
  // No display needed, nor wanted.
  delete env.DISPLAY;
  return env;
}

export interface WinePrefix {
  prefix: string;
  env: NodeJS.ProcessEnv;
  /** Ends the prefix's wineserver (and so its processes) and removes the prefix (some 700 MB). */
  dispose(): void;
}

/**
 * Waits until every process of the prefix has ended and its wineserver has gone (`wineserver -w`):
 * wineboot's services, or a test's killed processes, otherwise linger while the next test runs
 * (one CI run's `msiexec /i` right after the launcher tests exited 1).
 */
export function waitWineIdle(env: NodeJS.ProcessEnv): void {
  spawnSync('wineserver', ['-w'], { env, stdio: 'ignore', timeout: 60_000 });
}

/**
 * A new prefix (in `dir`, else a temp folder) that says Windows 10: winecfg -v sets the version
 * wine reports and the registry's CurrentVersion values, checked here.
 */
export function makeWinePrefix(dir?: string, extraEnv: NodeJS.ProcessEnv = {}): WinePrefix {
  const prefix = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-'));
  fs.mkdirSync(prefix, { recursive: true });
  const env = wineEnv(prefix, extraEnv);
  const run = (args: string[]) => {
    const r = spawnSync('wine', args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
    if (r.status !== 0) throw new Error(`wine ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(-500)}`);
  };
  spawnSync('wineboot', ['--init'], { env, stdio: 'ignore', timeout: 180_000 });
  run(['winecfg', '-v', 'win10']);
  const r = spawnSync('wine', ['reg', 'query', 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion', '/v', 'CurrentBuild'], { env, encoding: 'utf8' });
  const build = Number(/CurrentBuild\s+REG_SZ\s+(\d+)/.exec(r.stdout)?.[1]);
  if (!(build >= 10240)) throw new Error(`the wine prefix does not say Windows 10 (CurrentBuild ${build})`);
  waitWineIdle(env);
  return {
    prefix,
    env,
    dispose() {
      spawnSync('wineserver', ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

export interface WineRun {
  status: number | null;
  stdout: Buffer;
  /** stdout as UTF-8 text, CRLF made LF. */
  text: string;
  stderr: string;
  ms: number;
}

/** Runs `wine program args…` with stdin from a file (empty unless given) and stdout and stderr into files. */
export function runWine(
  env: NodeJS.ProcessEnv,
  program: string,
  args: string[],
  opts: { stdin?: Buffer | string; cwd?: string; timeoutMs?: number } = {},
): WineRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-io-'));
  try {
    const inFile = path.join(dir, 'stdin');
    fs.writeFileSync(inFile, opts.stdin ?? '');
    const fds = [fs.openSync(inFile, 'r'), fs.openSync(path.join(dir, 'stdout'), 'w'), fs.openSync(path.join(dir, 'stderr'), 'w')] as const;
    const t0 = performance.now();
    try {
      const r = spawnSync('wine', [program, ...args], { env, ...(opts.cwd ? { cwd: opts.cwd } : {}), stdio: [...fds], timeout: opts.timeoutMs ?? 120_000 });
      const ms = performance.now() - t0;
      const stdout = fs.readFileSync(path.join(dir, 'stdout'));
      return { status: r.status, stdout, text: stdout.toString('utf8').replace(/\r\n/g, '\n'), stderr: fs.readFileSync(path.join(dir, 'stderr'), 'utf8'), ms };
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface Wine extends WinePrefix {
  /** Runs node.exe (or `exe`, e.g. a renamed copy) with these arguments. */
  node(args: string[], timeoutMs?: number, exe?: string): { status: number | null; stdout: string; stderr: string };
}

/** A fresh prefix in a temp folder and the pinned node.exe; `extraEnv` reaches the Windows processes. */
export function makeWine(extraEnv: NodeJS.ProcessEnv = {}): Wine {
  const p = makeWinePrefix(undefined, extraEnv);
  const exe = nodeWinExe();
  return {
    ...p,
    node(args, timeoutMs = 120_000, program = exe) {
      const r = runWine(p.env, program, args, { timeoutMs });
      return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
    },
  };
}

export const KOFFI_WIN32_X64 = path.join(ROOT, 'node_modules', 'koffi', 'build', 'koffi', 'win32_x64', 'koffi.node');
/** Where bundles that must find koffi in this clone's node_modules are written. */
export const IN_TREE_BUNDLES = path.join(CACHE, 'wine-bundles');

/**
 * koffi looks for its per-platform binaries by static paths: the Windows one is pointed at a copy
 * beside the bundle, the others stay unresolved and are never reached on Windows.
 */
const koffiBeside: Plugin = {
  name: 'koffi-win32-binary',
  setup(b) {
    b.onResolve({ filter: /koffi\.node$/ }, (a) => ({ path: a.path.includes('win32_x64') ? './koffi.node' : a.path, external: true }));
  },
};

/**
 * Bundles `entry` into `outFile` the way scripts/build-host.mjs bundles the host (CommonJS,
 * import.meta.url from the bundle's own file). With `koffiBeside`, koffi.node for win32_x64 is
 * copied beside it and loaded from there; without, koffi finds it in node_modules (IN_TREE_BUNDLES).
 */
export async function bundleForWindows(entry: string, outFile: string, opts: { koffiBeside?: boolean } = {}): Promise<string> {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  if (opts.koffiBeside) {
    if (!fs.existsSync(KOFFI_WIN32_X64)) throw new Error(`${KOFFI_WIN32_X64} is missing: this koffi carries no win32_x64 binary`);
    fs.copyFileSync(KOFFI_WIN32_X64, path.join(path.dirname(outFile), 'koffi.node'));
  }
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    logLevel: 'warning',
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    plugins: opts.koffiBeside ? [koffiBeside] : [],
  });
  return outFile;
}
