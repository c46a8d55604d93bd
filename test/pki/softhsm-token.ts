/**
 * A SoftHSM2 token in a temporary folder that looks like a qualified-signature USB token:
 * RSA and EC keys with their certificates, an expired certificate, and a CA certificate without
 * a key. SoftHSM also keeps its uninitialized spare slot, as a real reader with no card would.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Pki } from './make-pki.js';

const run = promisify(execFile);

export const SOFTHSM_MODULE =
  ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => fs.existsSync(p)) ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  /** Set SOFTHSM2_CONF to this for every process that opens the token (host, browser, modutil). */
  conf: string;
  module: string;
  label: string;
  pin: string;
  soPin: string;
  serial: string;
  /** CKA_ID (hex) of each object pair. */
  ids: { rsa: string; ec: string; expired: string; caOnly: string };
}

export async function makeSoftHsmToken(dir: string, pki: Pki, label = 'ROTOKEN'): Promise<SoftHsmToken> {
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens, { recursive: true });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const pin = '1234';
  const soPin = '87654321';
  await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env });

  const ids = { rsa: '01', ec: '02', expired: '03', caOnly: '04' };
  const put = async (id: string, name: string, certPem: string, keyFile?: string) => {
    if (keyFile) {
      await run('softhsm2-util', ['--import', keyFile, '--token', label, '--label', name, '--id', id, '--pin', pin], { env });
    }
    const der = path.join(dir, `${id}.der`);
    await run('openssl', ['x509', '-in', certPem, '-outform', 'DER', '-out', der]);
    await run(
      'pkcs11-tool',
      ['--module', SOFTHSM_MODULE, '--token-label', label, '--login', '--pin', pin, '--write-object', der, '--type', 'cert', '--id', id, '--label', name],
      { env },
    );
  };
  await put(ids.rsa, 'POPESCU ION', pki.client.certFile, pki.client.keyFile);
  await put(ids.ec, 'IONESCU MARIA', pki.clientEc.certFile, pki.clientEc.keyFile);
  await put(ids.expired, 'EXPIRED POPESCU', pki.expiredClient.certFile, pki.expiredClient.keyFile);
  await put(ids.caOnly, 'Test CA', pki.ca.certFile);

  const { stdout } = await run('softhsm2-util', ['--show-slots'], { env });
  const serial = /Serial number:\s*(\S+)/.exec(stdout.split(`Label:            ${label}`)[0]!.split('Slot ').pop() ?? '')?.[1] ?? '';
  return { conf, module: SOFTHSM_MODULE, label, pin, soPin, serial, ids };
}
