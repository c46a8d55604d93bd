/**
 * Our Windows code under wine, with the Windows build of Node 22 and koffi's win32_x64 binary:
 * the vault key wrapped by DPAPI and read back, and CurrentUser\My listed through crypt32.
 * What only a real Windows shows: DPAPI bound to a real user's logon secret, a token's
 * minidriver filling the store, Chrome offering the certificate.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../native-host/src/config/entry.js';
import { browserStoreReportSchema, type BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import { certificateWarnings } from '#shared/certificate-warnings.js';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { IN_TREE_BUNDLES, KOFFI_WIN32_X64, bundleForWindows, makeWine, nodeWinExe, winPath, wineMissing, type Wine } from '../helpers/wine.js';

const missing = wineMissing();
const DRIVER = path.resolve(import.meta.dirname, '..', 'wine', 'driver.ts');

interface Answer<T> {
  ok: boolean;
  platform: string;
  result: T;
  error?: string;
}

describe.skipIf(missing !== undefined)(`Windows code under wine${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let wine: Wine;
  let inTree: string;
  let beside: string;
  let renamedExe: string;
  let pki: Pki;
  let work: string;

  const run = <T>(bundle: string, ...args: string[]): Answer<T> => {
    // The packaged layout runs as the single executable does: a renamed node.exe, koffi beside it.
    const r = wine.node([winPath(bundle), ...args], undefined, bundle === beside ? renamedExe : undefined);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    expect(line, `node.exe exit ${r.status}; stderr: ${r.stderr.slice(-2000)}`).toMatch(/^\{/);
    const answer = JSON.parse(line) as Answer<T>;
    expect(answer.error).toBeUndefined();
    expect(answer.platform).toBe('win32');
    return answer;
  };

  /** The built CLI (dist/anaf-token.cjs) under node.exe, its data folder in the temp work folder. */
  const host = (args: string[]): unknown => {
    const r = wine.node([winPath(CLI_ENTRY), ...args]);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-work-'));
    // 1. inside the clone: koffi is found in node_modules, as from sources or dist/.
    inTree = path.join(IN_TREE_BUNDLES, `driver-${process.pid}.cjs`);
    await bundleForWindows(DRIVER, inTree);
    // 2. the packaged layout: node.exe renamed (koffi's delay-load hook must still find it), the bundle
    //    and koffi/win32_x64/koffi.node beside it, no node_modules.
    beside = path.join(work, 'app', 'driver.cjs');
    await bundleForWindows(DRIVER, beside);
    fs.mkdirSync(path.join(work, 'app', 'koffi', 'win32_x64'), { recursive: true });
    fs.copyFileSync(KOFFI_WIN32_X64, path.join(work, 'app', 'koffi', 'win32_x64', 'koffi.node'));
    renamedExe = path.join(work, 'app', 'anaf-token.exe');
    fs.copyFileSync(nodeWinExe(), renamedExe);
    pki = await makePki(path.join(os.tmpdir(), 'anaf-wine-pki'));
    wine = makeWine({ ANAF_TOKEN_HOME: winPath(path.join(work, 'anaf-home')), ANAF_TOKEN_KEYSTORE: 'file' });
  }, 300_000);

  afterAll(() => {
    wine?.dispose();
    fs.rmSync(inTree, { force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('wraps the vault key with DPAPI, reads it back in another process, and refuses another entropy', () => {
    const keyFile = path.join(work, 'vault.key');
    const made = run<{ kind: string; koffi: string; readBack: boolean; keySha256: string; keyInFile: boolean }>(inTree, 'dpapi', winPath(keyFile));
    expect(made.result.kind).toBe('dpapi');
    expect(made.result.readBack).toBe(true);
    expect(made.result.keyInFile).toBe(false);
    // koffi came from this clone's node_modules (its win32_x64 binary).
    expect(made.result.koffi.toLowerCase()).toContain('\\node_modules\\koffi\\build\\koffi\\win32_x64\\koffi.node');
    const text = fs.readFileSync(keyFile, 'utf8');
    expect(text).toMatch(/^dpapi:[A-Za-z0-9+/=]+\n$/);

    // A second process, the packaged layout (koffi.node beside the bundle): the same key.
    const again = run<{ keySha256: string | null; koffi: string; exe: string }>(beside, 'dpapi-read', winPath(keyFile));
    expect(again.result.keySha256).toBe(made.result.keySha256);
    expect(again.result.koffi).toBe(winPath(path.join(work, 'app', 'koffi', 'win32_x64', 'koffi.node')));
    expect(again.result.exe).toBe(winPath(renamedExe));
    // The store does not make a new key over an existing one.
    const reopened = run<{ keySha256: string }>(inTree, 'dpapi', winPath(keyFile));
    expect(reopened.result.keySha256).toBe(made.result.keySha256);

    const foreign = run<{ refused: boolean }>(inTree, 'dpapi-foreign', winPath(keyFile));
    expect(foreign.result.refused).toBe(true);

    // The vault's schema floor is recorded inside the DPAPI wrap, the file replaced whole, the key unchanged.
    const floor = run<{ before: number; raised: boolean; again: boolean; floor: number; sameKey: boolean; keyInFile: boolean }>(
      inTree,
      'dpapi-floor',
      winPath(keyFile),
    );
    expect(floor.result).toEqual({ before: 1, raised: true, again: false, floor: 2, sameKey: true, keyInFile: false });
    expect(fs.readFileSync(keyFile, 'utf8')).toMatch(/^dpapi:[A-Za-z0-9+/=]+\n$/);
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(run<{ keySha256: string | null }>(beside, 'dpapi-read', winPath(keyFile)).result.keySha256).toBe(made.result.keySha256);

    // A damaged wrap is an error, never another key.
    fs.writeFileSync(keyFile, 'dpapi:' + Buffer.from('not a dpapi blob').toString('base64') + '\n');
    const r = wine.node([winPath(inTree), 'dpapi-read', winPath(keyFile)]);
    expect(JSON.parse(r.stdout.trim()).ok).toBe(false);
  });

  it('lists CurrentUser\\My through crypt32: the key link, the warnings, the packaged layout too', () => {
    const der = (pem: string) => {
      const file = path.join(work, `${crypto.randomUUID()}.der`);
      fs.writeFileSync(file, new crypto.X509Certificate(pem).raw);
      return file;
    };
    // The built host (dist/, the esbuild bundle, koffi from node_modules): no personal store yet is an empty one.
    const empty = host(['browser-certs', '--json']);
    expect(empty).toEqual([{ store: 'windows-my', location: 'CurrentUser\\My', certificates: [] }]);

    run(inTree, 'add-cert', winPath(der(pki.client.certPem)), 'key');
    run(inTree, 'add-cert', winPath(der(pki.clientEc.certPem)), 'nokey');
    run(inTree, 'add-cert', winPath(der(pki.expiredClient.certPem)), 'key');

    for (const bundle of [inTree, beside]) {
      const report = browserStoreReportSchema.parse(run(bundle, 'list').result);
      expect(report.store).toBe('windows-my');
      expect(report.error).toBeUndefined();
      const byName = new Map(report.certificates.map((c) => [c.commonName, c]));
      const rsa = byName.get('POPESCU ION');
      expect(rsa?.privateKey).toBe('present');
      expect(rsa?.label).toBe('Microsoft Software Key Storage Provider');
      expect(rsa?.id).toBe(crypto.createHash('sha1').update(new crypto.X509Certificate(pki.client.certPem).raw).digest('hex').toUpperCase());
      expect(rsa?.serialHex).toBe(normalizeSerialHex(new crypto.X509Certificate(pki.client.certPem).serialNumber));
      expect(certificateWarnings(rsa!)).toEqual([]);
      expect(certificateWarnings(byName.get('IONESCU MARIA')!)).toEqual(['no-private-key']);
      expect(certificateWarnings(byName.get('EXPIRED POPESCU')!)).toContain('expired');
    }

    const stores = host(['browser-certs', '--json']) as BrowserStoreReport[];
    expect(stores.flatMap((s) => s.certificates.map((c) => [c.commonName, c.privateKey])).sort()).toEqual([
      ['EXPIRED POPESCU', 'present'],
      ['IONESCU MARIA', 'absent'],
      ['POPESCU ION', 'present'],
    ]);

    // The doctor's check on Windows (the run fails as a whole offline: ANAF cannot be reached from CI).
    const doctor = wine.node([winPath(CLI_ENTRY), 'doctor', '--json']);
    const findings = (JSON.parse(doctor.stdout) as { findings: { check: string; status: string; message: string }[] }).findings.filter(
      (f) => f.check === 'browser-certs',
    );
    expect(findings).toContainEqual(expect.objectContaining({ status: 'ok', message: expect.stringContaining('the browser will offer POPESCU ION') }));
    expect(findings).toContainEqual(expect.objectContaining({ status: 'warn', message: expect.stringContaining('no-private-key') }));
  }, 120_000);
});
