/**
 * The USB token side against SoftHSM2 (a real PKCS#11 module) and a deliberately broken module:
 * listing without a PIN, the PIN check, and every way a driver can fail without taking the host down.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_ID, certificateWarnings, type ModuleReport, type TokenDetails } from '#shared/index.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { makeSoftHsmToken, type SoftHsmToken } from '../pki/softhsm-token.js';
import { buildFakeModule } from '../fixtures/fake-pkcs11.js';
import { runCli, CLI } from '../helpers/cli.js';
import { startNative } from '../helpers/native-client.js';
import { tempDir } from '../helpers/temp.js';

let pki: Pki;
let token: SoftHsmToken;
let baseEnv: NodeJS.ProcessEnv;
let env: NodeJS.ProcessEnv;
let home: string;
let fakeModule: string;

const json = async <T>(args: string[], input?: string): Promise<T> => {
  const r = await runCli([...args, '--json'], env, input);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout) as T;
};

const rotoken = (reports: ModuleReport[]): TokenDetails => reports.flatMap((m) => m.tokens).find((t) => t.label === token.label)!;

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  token = await makeSoftHsmToken(tempDir('hsm'), pki);
  home = tempDir('home');
  baseEnv = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', SOFTHSM2_CONF: token.conf, ANAF_TOKEN_PKCS11_TIMEOUT_MS: '3000' };
  env = baseEnv;
  fakeModule = buildFakeModule(tempDir('fake'));
});

afterAll(() => {
  const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
  expect(log).toContain('pkcs11.pin-check');
  // The PIN is never written anywhere; "1234" alone would match timestamps, so look for it as a field.
  expect(log).not.toMatch(/pin[=:]"?1234/i);
});

// The whole suite through each binding the worker can use (binding.ts): pkcs11js where it builds,
// koffi for the Windows and macOS builds.
describe.each(['pkcs11js', 'koffi'])('certificates on the USB token, %s binding', (binding) => {
  beforeAll(() => {
    env = { ...baseEnv, ANAF_TOKEN_PKCS11_BINDING: binding };
  });

  it('lists the token, its certificates and the spare slot without a PIN', async () => {
    const reports = await json<ModuleReport[]>(['certs', '--module', token.module]);
    expect(reports).toHaveLength(1);
    const [m] = reports;
    expect(m!.library?.manufacturer).toContain('SoftHSM');
    expect(m!.tokens.some((t) => t.present && t.initialized === false)).toBe(true); // SoftHSM's spare slot
    const t = rotoken(reports);
    expect(t).toMatchObject({ initialized: true, loginRequired: true, manufacturer: 'SoftHSM project', serial: token.serial });
    expect(t.pin).toEqual({ countLow: false, finalTry: false, locked: false });
    const byId = Object.fromEntries(t.certificates.map((c) => [c.id, c]));
    expect(Object.keys(byId).sort()).toEqual(['01', '02', '03', '04']);

    const rsa = byId['01']!;
    const opensslSerial = execFileSync('openssl', ['x509', '-in', pki.client.certFile, '-noout', '-serial']).toString().trim().split('=')[1];
    expect(rsa).toMatchObject({
      commonName: 'POPESCU ION',
      serialHex: opensslSerial,
      keyAlgorithm: 'RSA 2048',
      signature: true,
      privateKey: 'unknown', // SoftHSM keeps private keys private until login
      qualified: { compliance: true, qscd: true, types: ['esign'] },
    });
    expect(rsa.subject).toContain('serialNumber=PNORO-1800101123456');
    expect(rsa.issuer).toContain('CN=ANAF Stand-in Test CA');
    expect(rsa.keyUsage).toEqual(['digitalSignature', 'nonRepudiation']);
    expect(rsa.extendedKeyUsage).toEqual(['clientAuth', 'emailProtection']);
    expect(certificateWarnings(rsa)).toEqual([]);

    expect(byId['02']).toMatchObject({ commonName: 'IONESCU MARIA', keyAlgorithm: 'EC P-256', signature: true });
    expect(certificateWarnings(byId['03']!)).toContain('expired');
    expect(certificateWarnings(byId['04']!)).toEqual(expect.arrayContaining(['not-signature', 'not-qualified']));
  });

  it('finds the installed drivers itself when no module is given', async () => {
    const known = await json<{ known: { id: string; installed: boolean; path: string }[] }>(['modules']);
    expect(known.known.find((m) => m.id === 'softhsm2' && m.installed)?.path).toBe(token.module);
    const reports = await json<ModuleReport[]>(['certs']);
    expect(reports.map((r) => r.path)).toContain(token.module);
    expect(rotoken(reports).certificates).toHaveLength(4);
    const text = await runCli(['certs'], env);
    expect(text.stdout).toContain('POPESCU ION');
    expect(text.stdout).toMatch(/expirat: ANAF îl va refuza \/ expired: ANAF will refuse it/);
  });

  it('proves the PIN by signing with the RSA and the EC key, and counts a wrong PIN', async () => {
    for (const id of [token.ids.rsa, token.ids.ec]) {
      const r = await json<{ ok: boolean; signatureVerified: boolean; mechanism: string }>(
        ['pin-check', '--module', token.module, '--token', token.serial, '--cert', id],
        `${token.pin}\n`,
      );
      expect(r).toMatchObject({ ok: true, signatureVerified: true });
    }
    const wrong = await runCli(['pin-check', '--module', token.module, '--token', token.serial, '--cert', token.ids.rsa], env, '9999\n');
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toContain('PKCS11_PIN_INCORRECT');
    expect(wrong.stderr).toContain('se blochează');
    const after = rotoken(await json<ModuleReport[]>(['certs', '--module', token.module]));
    expect(after.pin?.countLow).toBe(true);
    // The right PIN clears the count again.
    await json(['pin-check', '--module', token.module, '--token', token.serial, '--cert', token.ids.rsa], `${token.pin}\n`);
    expect(rotoken(await json<ModuleReport[]>(['certs', '--module', token.module])).pin?.countLow).toBe(false);
    const missing = await runCli(['pin-check', '--module', token.module, '--token', token.serial, '--cert', 'ff'], env, `${token.pin}\n`);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('CERT_NOT_FOUND');
  });

  it('survives a driver that hangs, one that crashes, a token pulled out, and a file that is no driver', async () => {
    const run = (mode: string, module = fakeModule) => runCli(['certs', '--module', module, '--json'], { ...env, FAKE_PKCS11_MODE: mode });
    const t0 = Date.now();
    const hang = await run('hang-init');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(hang.code).toBe(5);
    expect(JSON.parse(hang.stdout)).toMatchObject({ error: { code: 'PKCS11_TIMEOUT' } });

    const crash = await run('crash');
    expect(crash.code).toBe(1);
    expect(JSON.parse(crash.stdout)).toMatchObject({ error: { code: 'PKCS11_CRASHED', detail: expect.stringContaining('SIGSEGV') } });

    const removed = await run('removed');
    expect(removed.code).toBe(0);
    const report = JSON.parse(removed.stdout) as ModuleReport[];
    expect(report[0]!.tokens[0]!.error?.code).toBe('PKCS11_TOKEN_REMOVED');

    const notADriver = await run('', '/etc/hostname');
    expect(JSON.parse(notADriver.stdout)).toMatchObject({ error: { code: 'PKCS11_LOAD_FAILED' } });

    // One broken driver does not hide the good one.
    const mixed = await runCli(['certs', '--module', fakeModule, token.module, '--json'], { ...env, FAKE_PKCS11_MODE: 'crash' });
    expect(mixed.code).toBe(0);
    const both = JSON.parse(mixed.stdout) as ModuleReport[];
    expect(both[0]!.error?.code).toBe('PKCS11_CRASHED');
    expect(rotoken(both).certificates).toHaveLength(4);
  });

  it('answers certs.list and pin.check over native messaging', async () => {
    await runCli(['install', '--user-data-dir', tempDir('udd')], env);
    const s = startNative(process.execPath, [CLI, 'native', `chrome-extension://${EXTENSION_ID}/`], env);
    const list = await s.request({ id: '1', type: 'certs.list', modules: [token.module] });
    expect(list.ok).toBe(true);
    const modules = (list.result as { modules: ModuleReport[] }).modules;
    expect(rotoken(modules).certificates.map((c) => c.commonName)).toContain('POPESCU ION');
    const pin = await s.request({ id: '2', type: 'pin.check', module: token.module, tokenSerial: token.serial, certId: '01', pin: token.pin });
    expect(pin).toMatchObject({ ok: true, result: { ok: true, signatureVerified: true } });
    const bad = await s.request({ id: '3', type: 'pin.check', module: token.module, tokenSerial: token.serial, certId: '01', pin: '0000' });
    expect(bad).toMatchObject({ id: '3', ok: false, error: { code: 'PKCS11_PIN_INCORRECT' } });
    expect(JSON.stringify(bad)).not.toContain('0000');
    await s.request({ id: '4', type: 'pin.check', module: token.module, tokenSerial: token.serial, certId: '01', pin: token.pin });
    expect((await s.end()).code).toBe(0);
  });
  it('over native messaging, loads only known or configured drivers: another path is refused before it is loaded', async () => {
    const mark = path.join(tempDir('mark'), 'loaded');
    const marked = { ...env, FAKE_PKCS11_LOADED: mark };
    // The mark is sharp: the CLI's own --module loads the driver (the user typed it) and it appears.
    const typed = await runCli(['certs', '--module', fakeModule, '--json'], marked);
    expect(typed.code, typed.stderr).toBe(0);
    expect(fs.readFileSync(mark, 'utf8')).toContain('loaded');
    fs.rmSync(mark);

    await runCli(['install', '--user-data-dir', tempDir('udd')], env);
    const origin = `chrome-extension://${EXTENSION_ID}/`;
    const s = startNative(process.execPath, [CLI, 'native', origin], marked);
    const notAllowed = { ok: false, error: { code: 'PKCS11_MODULE_NOT_ALLOWED' } };
    expect(await s.request({ id: '1', type: 'certs.list', modules: [fakeModule] })).toMatchObject({ id: '1', ...notAllowed });
    // One foreign path refuses the whole request: not even the known driver beside it is loaded.
    expect(await s.request({ id: '2', type: 'certs.list', modules: [token.module, fakeModule] })).toMatchObject({ id: '2', ...notAllowed });
    expect(await s.request({ id: '3', type: 'pin.check', module: fakeModule, tokenSerial: token.serial, certId: '01', pin: token.pin })).toMatchObject({
      id: '3',
      ...notAllowed,
    });
    // A known path spelled another way is another path.
    const dotted = `${path.dirname(token.module)}/../${path.basename(path.dirname(token.module))}/${path.basename(token.module)}`;
    expect(await s.request({ id: '4', type: 'certs.list', modules: [dotted] })).toMatchObject({ id: '4', ...notAllowed });
    // The known driver alone still works.
    expect(await s.request({ id: '5', type: 'certs.list', modules: [token.module] })).toMatchObject({ id: '5', ok: true });
    expect((await s.end()).code).toBe(0);
    expect(fs.existsSync(mark)).toBe(false);

    // Configured by the user with the CLI, the driver is allowed; removed, refused again.
    const added = await runCli(['modules', '--add', fakeModule, '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ configured: [fakeModule] });
    const s2 = startNative(process.execPath, [CLI, 'native', origin], marked);
    expect(await s2.request({ id: '6', type: 'certs.list', modules: [fakeModule] })).toMatchObject({ id: '6', ok: true });
    expect(fs.readFileSync(mark, 'utf8')).toContain('loaded');
    expect((await s2.end()).code).toBe(0);
    const removed = await runCli(['modules', '--remove', fakeModule, '--json'], env);
    expect(JSON.parse(removed.stdout)).toMatchObject({ configured: [] });
    const relative = await runCli(['modules', '--add', 'fake-pkcs11.so', '--json'], env);
    expect(relative.code).toBe(2);
    expect(JSON.parse(relative.stdout)).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });
});

it('the worker honours ANAF_TOKEN_PKCS11_BINDING: a binding that does not exist fails the worker, not the host', async () => {
  const r = await runCli(['certs', '--module', token.module, '--json'], { ...baseEnv, ANAF_TOKEN_PKCS11_BINDING: 'none' });
  expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'PKCS11_CRASHED' } });
});
