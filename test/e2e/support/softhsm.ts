/**
 * A PKCS#11 token (SoftHSM2) holding the client key and certificate, as a USB signature key
 * would: the key never leaves the token and signing needs the PIN.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PkiClientCert } from '../../pki/make-pki.js';
import { SOFTHSM_LIB } from './nss.js';

export interface SoftHsmToken {
  /** Path for SOFTHSM2_CONF. */
  conf: string;
  label: string;
  pin: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  try {
    execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args[0] ?? ''} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

/** A certificate written to the token without its key (e.g. an expired one the user still carries). */
export interface ExtraCertificate {
  id: string;
  label: string;
  certFile: string;
}

export function makeSoftHsmToken(dir: string, client: PkiClientCert, pin = '1234', extra: ExtraCertificate[] = []): SoftHsmToken {
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const label = 'ROTOKEN';
  run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '87654321', '--pin', pin], env);
  run('softhsm2-util', ['--import', client.keyFile, '--token', label, '--label', client.commonName, '--id', '01', '--pin', pin], env);
  const der = path.join(dir, 'client.der');
  run('openssl', ['x509', '-in', client.certFile, '-outform', 'DER', '-out', der], env);
  run(
    'pkcs11-tool',
    [
      '--module',
      SOFTHSM_LIB,
      '--token-label',
      label,
      '--login',
      '--pin',
      pin,
      '--write-object',
      der,
      '--type',
      'cert',
      '--id',
      '01',
      '--label',
      client.commonName,
    ],
    env,
  );
  // Without a key Chromium never offers these for TLS, so the login still uses certificate 01.
  for (const x of extra) {
    const file = path.join(dir, `${x.id}.der`);
    run('openssl', ['x509', '-in', x.certFile, '-outform', 'DER', '-out', file], env);
    run(
      'pkcs11-tool',
      ['--module', SOFTHSM_LIB, '--token-label', label, '--login', '--pin', pin, '--write-object', file, '--type', 'cert', '--id', x.id, '--label', x.label],
      env,
    );
  }
  return { conf, label, pin };
}
