/**
 * One wine prefix for the suite, in a temp folder: created with wineboot, Windows 10 set in its
 * registry (winecfg -v win10; Node 22 refuses older Windows), removed at the end.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  if (spawnSync('wine', ['--version']).status !== 0) throw new Error('wine is not installed: scripts/setup-debian.sh installs it (Debian packages wine, wine64)');
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-'));
  const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  const run = (args: string[]) => {
    const r = spawnSync('wine', args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    if (r.status !== 0) throw new Error(`wine ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(-500)}`);
  };
  spawnSync('wineboot', ['--init'], { env, stdio: 'ignore', timeout: 120_000 });
  // winecfg -v sets the version wine reports and the registry's CurrentVersion values.
  run(['winecfg', '-v', 'win10']);
  const r = spawnSync('wine', ['reg', 'query', 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion', '/v', 'CurrentBuild'], { env, encoding: 'utf8' });
  const build = Number(/CurrentBuild\s+REG_SZ\s+(\d+)/.exec(r.stdout)?.[1]);
  if (!(build >= 10240)) throw new Error(`the wine prefix does not say Windows 10 (CurrentBuild ${build})`);
  process.env.ANAF_WINE_PREFIX = prefix;
  return () => {
    spawnSync('wineserver', ['-k'], { env, stdio: 'ignore' });
    fs.rmSync(prefix, { recursive: true, force: true });
  };
}
