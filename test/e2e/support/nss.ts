/**
 * The browser's own certificate store: Chromium on Linux reads $HOME/.pki/nssdb. Each browser
 * gets a fresh HOME with the test CA trusted for servers and, depending on the test, the client
 * certificate imported (PKCS#12) or a PKCS#11 module (SoftHSM) that holds the key.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const SOFTHSM_LIB = '/usr/lib/softhsm/libsofthsm2.so';

export interface NssOptions {
  caFile: string;
  /** PKCS#12 with an empty password. */
  p12File?: string;
  /** Registers SoftHSM; its config is passed through SOFTHSM2_CONF. */
  softhsmConf?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  try {
    execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr?.toString() ?? ''}${err.stdout?.toString() ?? ''}${err.message}`);
  }
}

/** Creates `<home>/.pki/nssdb` and returns its "sql:" path. */
export function makeNssDb(home: string, opts: NssOptions): string {
  const dir = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = `sql:${dir}`;
  run('certutil', ['-d', db, '-N', '--empty-password']);
  run('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'anaf-standin-test-ca', '-i', opts.caFile]);
  if (opts.p12File) run('pk12util', ['-d', db, '-i', opts.p12File, '-W', '']);
  if (opts.softhsmConf) {
    run('modutil', ['-force', '-dbdir', db, '-add', 'SoftHSM', '-libfile', SOFTHSM_LIB], { ...process.env, SOFTHSM2_CONF: opts.softhsmConf });
  }
  return db;
}
