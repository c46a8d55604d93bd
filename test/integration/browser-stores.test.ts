/**
 * Linux: what Chromium will offer at ANAF's login, read from its own NSS database (the one the
 * e2e suite builds) through NSS's softokn, read-only. Also the CLI, the native message and the
 * doctor check on top of it.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_ID, browserCertsResultSchema, browserStoreReportSchema, certificateWarnings, type BrowserStoreReport } from '#shared/index.js';
import { browserStores } from '../../native-host/src/certstores/browser-stores.js';
import { findSoftokn, listNssDatabase } from '../../native-host/src/certstores/nss.js';
import { makeNssDb } from '../e2e/support/nss.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { CLI, runCli } from '../helpers/cli.js';
import { startNative } from '../helpers/native-client.js';
import { tempDir } from '../helpers/temp.js';

const softokn = findSoftokn();
const certutil = fs.existsSync('/usr/bin/certutil');

const digest = (dir: string) =>
  Object.fromEntries(
    fs.readdirSync(dir).map((f) => [
      f,
      crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(dir, f)))
        .digest('hex'),
    ]),
  );

describe.skipIf(!softokn || !certutil)(
  `Chromium's NSS database${!softokn || !certutil ? ' (skipped: libnss3 / libnss3-tools missing; scripts/setup-debian.sh installs them)' : ''}`,
  () => {
    let pki: Pki;
    /** The e2e "nss" world: the test CA trusted, the client's PKCS#12 imported (certificate and key). */
    let withKey: string;
    /** The certificate alone, without its key: the browser will not offer it. */
    let certOnly: string;

    beforeAll(async () => {
      pki = await makePki(tempDir('pki'));
      withKey = tempDir('nss-home');
      makeNssDb(withKey, { caFile: pki.ca.certFile, p12File: pki.client.p12File });
      certOnly = tempDir('nss-home');
      const db = makeNssDb(certOnly, { caFile: pki.ca.certFile });
      execFileSync('certutil', ['-d', db, '-A', '-t', ',,', '-n', 'IONESCU MARIA', '-i', pki.clientEc.certFile]);
    });

    it('lists the imported client certificate with its key, leaves the CA out, and writes nothing', async () => {
      const dir = path.join(withKey, '.pki', 'nssdb');
      const before = digest(dir);
      const [store, ...more] = await browserStores({ platform: 'linux', home: withKey });
      expect(more).toEqual([]);
      const report = browserStoreReportSchema.parse(store);
      expect(report).toMatchObject({ store: 'nss', location: `sql:${dir}` });
      expect(report.error).toBeUndefined();
      expect(report.certificates.map((c) => c.commonName)).toEqual(['POPESCU ION']);
      const c = report.certificates[0]!;
      expect(c.privateKey).toBe('present');
      expect(c.label).toBe('POPESCU ION');
      expect(certificateWarnings(c)).toEqual([]);
      // The CA is in the database (a trust anchor), just not something the browser offers.
      expect(listNssDatabase(dir, softokn!).map((x) => x.commonName)).toContain('ANAF Stand-in Test CA');
      expect(digest(dir)).toEqual(before);
    });

    it('says when the database holds a certificate without its key', async () => {
      const [report] = await browserStores({ platform: 'linux', home: certOnly });
      expect(report!.certificates.map((c) => [c.commonName, c.privateKey])).toEqual([['IONESCU MARIA', 'absent']]);
      expect(certificateWarnings(report!.certificates[0]!)).toEqual(['no-private-key']);
    });

    it('a home without a database has no browser store; an unreadable one is an error of that store only', async () => {
      expect(await browserStores({ platform: 'linux', home: tempDir('empty-home') })).toEqual([]);
      const broken = tempDir('nss-home');
      fs.mkdirSync(path.join(broken, '.pki', 'nssdb'), { recursive: true });
      fs.writeFileSync(path.join(broken, '.pki', 'nssdb', 'cert9.db'), 'not sqlite');
      const [report] = await browserStores({ platform: 'linux', home: broken });
      expect(report).toMatchObject({ store: 'nss', certificates: [], error: { code: 'CERT_STORE_UNAVAILABLE' } });
    });

    it('browser-certs (text and --json), the certs.browser native message and the doctor check', async () => {
      const anafHome = tempDir('home');
      const env = { HOME: withKey, ANAF_TOKEN_HOME: anafHome, ANAF_TOKEN_KEYSTORE: 'file' };
      const text = await runCli(['browser-certs'], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('Chromium NSS database');
      expect(text.stdout).toContain('POPESCU ION');
      expect(text.stdout).toContain('a person (CNP in the certificate)');
      // The holder line names the kind of holder, never the personal number.
      expect(text.stdout).not.toContain('1800101123456');

      const json = await runCli(['browser-certs', '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      const stores = JSON.parse(json.stdout) as BrowserStoreReport[];
      expect(stores.map((s) => s.certificates.map((c) => [c.commonName, c.privateKey]))).toEqual([[['POPESCU ION', 'present']]]);

      const s = startNative(process.execPath, [CLI, 'native', `chrome-extension://${EXTENSION_ID}/`], env);
      const answer = await s.request({ id: '1', type: 'certs.browser' });
      expect(answer.ok).toBe(true);
      const parsed = browserCertsResultSchema.parse(answer.result);
      expect(parsed.stores[0]?.certificates[0]?.commonName).toBe('POPESCU ION');
      const bad = await s.request({ id: '2', type: 'certs.browser', home: '/etc' });
      expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect((await s.end()).code).toBe(0);

      const doctor = await runCli(['doctor', '--json'], env);
      const report = JSON.parse(doctor.stdout) as { findings: { check: string; status: string; message: string }[] };
      const mine = report.findings.filter((f) => f.check === 'browser-certs');
      expect(mine).toContainEqual(expect.objectContaining({ status: 'ok', message: expect.stringContaining('the browser will offer POPESCU ION') }));
    });
  },
);
