/**
 * pkcs11js and the koffi binding side by side: the same module walked through each (in its own
 * process, test/fixtures/pkcs11-probe.ts) gives the same transcript — tokens, certificates,
 * flags, signatures, and every error with its CKR name, code and method. Each transcript is also
 * checked against what the token really holds, so two bindings wrong the same way still fail.
 * And koffi's struct layouts are checked against the C compiler's, for Linux and for Windows.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Koffi from 'koffi';
import { CKF_LOGIN_REQUIRED, CKF_TOKEN_INITIALIZED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_LOCKED } from '../../native-host/src/pkcs11/cryptoki.js';
import { makeTypes } from '../../native-host/src/pkcs11/binding-koffi.js';
import { buildFakeModule, CRYPTOKI_INCLUDE, MINGW_CC } from '../fixtures/fake-pkcs11.js';
import type { ProbeRequest } from '../fixtures/pkcs11-probe.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { makeSoftHsmToken, type SoftHsmToken } from '../pki/softhsm-token.js';
import { tempDir } from '../helpers/temp.js';

const BINDINGS = ['pkcs11js', 'koffi'] as const;
const PROBE = path.resolve('test/fixtures/pkcs11-probe.ts');

type Transcript = Record<string, unknown> & {
  binding: string;
  info: { manufacturerID: string; libraryDescription: string; flags: number };
  slots: { id: string; info: { slotDescription: string; flags: number }; token: Record<string, unknown> }[];
  certificates?: { id: string; label: string; valueSha256: string; class: string }[];
  keysBeforeLogin?: { id: string }[];
  keysAfterLogin?: { id: string }[];
  signature?: string;
};

function probe(binding: string, req: ProbeRequest, env: NodeJS.ProcessEnv = {}): Transcript {
  const out = execFileSync(process.execPath, ['--import', 'tsx', PROBE, JSON.stringify(req)], {
    env: { ...process.env, ...env, ANAF_TOKEN_PKCS11_BINDING: binding },
  });
  const t = JSON.parse(out.toString('utf8')) as Transcript;
  expect(t.binding).toBe(binding);
  return t;
}

/**
 * What SoftHSM gives differently from one process to the next: the time in utcTime (the same
 * format, another second), and its objects in another order with other handles.
 */
function normaliseSoftHsm(t: Transcript): Transcript {
  for (const key of ['certificates', 'keysBeforeLogin', 'keysAfterLogin'] as const) {
    const objects = (t[key] ?? []) as { id: string; handle: string }[];
    for (const o of objects) {
      expect(o.handle).toMatch(/^[0-9a-f]{16}$/);
      o.handle = 'handle';
    }
    objects.sort((a, b) => a.id.localeCompare(b.id));
  }
  for (const s of t.slots) {
    const tok = s.token as { utcTime?: string };
    if (tok.utcTime !== undefined) {
      expect(tok.utcTime).toMatch(/^\d{14}00$/);
      tok.utcTime = 'clock';
    }
  }
  return t;
}

/** Both transcripts, after checking they are the same but for the binding's name. */
function both(req: ProbeRequest, env?: NodeJS.ProcessEnv, softHsm = false): Transcript {
  const [a, b] = BINDINGS.map((name) => (softHsm ? normaliseSoftHsm : (t: Transcript) => t)(probe(name, req, env)));
  expect({ ...b!, binding: '' }).toEqual({ ...a!, binding: '' });
  return b!;
}

const pkcs11Error = (name: string, code: number, method: string) => ({ error: { name, code, method, pkcs11: true } });
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const derOf = (pem: string) => Buffer.from(new crypto.X509Certificate(fs.readFileSync(pem)).raw);

let pki: Pki;
let token: SoftHsmToken;
let fake: string;
let fakeCert: string;

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  token = await makeSoftHsmToken(tempDir('hsm'), pki);
  const dir = tempDir('fake');
  fake = buildFakeModule(dir);
  fakeCert = path.join(dir, 'cert.der');
  fs.writeFileSync(fakeCert, derOf(pki.client.certFile));
});

describe('pkcs11js and koffi give the same answers', () => {
  it('SoftHSM2: tokens, certificates, PIN flags, an RSA signature and the errors', () => {
    const t = both({ module: token.module, pin: token.pin, wrongPin: '9999', signWith: token.ids.rsa }, { SOFTHSM2_CONF: token.conf }, true);
    expect(t.info.manufacturerID.trim()).toBe('SoftHSM');
    const ours = t.slots.find((s) => (s.token as { serialNumber?: string }).serialNumber?.trim() === token.serial)!;
    expect(ours.token).toMatchObject({ label: expect.stringMatching(/^ROTOKEN +$/), manufacturerID: expect.stringMatching(/^SoftHSM project +$/) });
    expect((ours.token as { flags: number }).flags & (CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED)).toBe(CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED);
    expect(t.slotsPresent).toContain(ours.id);

    expect(t.certificates!.map((c) => [c.id, c.label, c.class]).sort()).toEqual([
      ['01', 'POPESCU ION', '0100000000000000'],
      ['02', 'IONESCU MARIA', '0100000000000000'],
      ['03', 'EXPIRED POPESCU', '0100000000000000'],
      ['04', 'Test CA', '0100000000000000'],
    ]);
    expect(t.certificates!.find((c) => c.id === '01')!.valueSha256).toBe(sha256(derOf(pki.client.certFile)));
    expect(t.certificates!.find((c) => c.id === '04')!.valueSha256).toBe(sha256(derOf(pki.ca.certFile)));
    // Private keys are private objects: none before login, three after.
    expect(t.keysBeforeLogin).toEqual([]);
    expect(t.keysAfterLogin!.map((k) => k.id).sort()).toEqual(['01', '02', '03']);

    expect(t.logoutBeforeLogin).toBeUndefined(); // SoftHSM lets a session that never logged in log out
    expect(t.wrongPin).toEqual(pkcs11Error('CKR_PIN_INCORRECT', 0xa0, 'C_Login'));
    expect((t.flagsAfterWrongPin as number) & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
    expect(t.login).toBeUndefined(); // no error: C_Login returned nothing
    // PKCS#1 v1.5 is deterministic, so both bindings' signatures are equal (checked above) and verify here.
    const sig = Buffer.from(t.signature!, 'hex');
    expect(
      crypto.verify('sha256', Buffer.from('anaf-token parity challenge'), new crypto.X509Certificate(fs.readFileSync(pki.client.certFile)).publicKey, sig),
    ).toBe(true);
    expect(t.closeSessionAgain).toEqual(pkcs11Error('CKR_SESSION_HANDLE_INVALID', 0xb3, 'C_CloseSession'));
    expect(t.finalizeAgain).toEqual(pkcs11Error('CKR_CRYPTOKI_NOT_INITIALIZED', 0x190, 'C_Finalize'));
  });

  it('the fake token: every field of every struct, UTF-8 labels, a locked PIN', () => {
    // A trailing space: pkcs11js drops the last byte of libraryParameters (next test).
    const t = both(
      { module: fake, pin: '1234', wrongPin: '9999', lockPin: '0000', signWith: '01', libraryParameters: "configdir='sql:/x' flags=readOnly " },
      { FAKE_PKCS11_MODE: 'token', FAKE_PKCS11_CERT: fakeCert },
    );
    expect(t.info).toEqual({
      cryptokiVersion: { major: 2, minor: 40 },
      manufacturerID: 'anaf-token tests'.padEnd(32),
      flags: 2, // CKF_OS_LOCKING_OK, as C_Initialize was given it
      libraryDescription: "configdir='sql:/x' flags=readOnl",
      libraryVersion: { major: 1, minor: 23 },
    });
    expect(t.slotsPresent).toEqual(['0700000000000000']);
    expect(t.slots.map((s) => s.id)).toEqual(['0700000000000000', '2143650700000000']);
    expect(t.slots[0]!.info).toEqual({
      slotDescription: 'Cititor fals ȘĂ (UTF-8)'.padEnd(64 - 2), // Ș and Ă are two bytes each
      manufacturerID: 'anaf-token tests'.padEnd(32),
      flags: 7,
      hardwareVersion: { major: 3, minor: 4 },
      firmwareVersion: { major: 5, minor: 6 },
    });
    expect(t.slots[0]!.token).toEqual({
      label: 'FAKE TOKEN ȘĂ'.padEnd(32 - 2),
      manufacturerID: 'anaf-token tests'.padEnd(32),
      model: 'fake v1'.padEnd(16),
      serialNumber: 'SN0001'.padEnd(16),
      flags: 0x40c,
      maxSessionCount: 11,
      sessionCount: 0,
      maxRwSessionCount: 13,
      rwSessionCount: 14,
      maxPinLen: 15,
      minPinLen: 4,
      hardwareVersion: { major: 7, minor: 8 },
      firmwareVersion: { major: 9, minor: 10 },
      utcTime: '2026113016000000',
      totalPublicMemory: '69905n',
      freePublicMemory: '8738n',
      totalPrivateMemory: `${2n ** 64n - 1n}n`, // CK_UNAVAILABLE_INFORMATION, a 64-bit CK_ULONG here
      freePrivateMemory: '13107n',
    });
    expect(t.slots[1]!.token).toEqual(pkcs11Error('CKR_TOKEN_NOT_PRESENT', 0xe0, 'C_GetTokenInfo'));
    expect(t.certificates).toEqual([
      {
        handle: '0001000000000000',
        class: '0100000000000000',
        id: '01',
        label: 'FAKE CERT ȘĂ',
        valueSha256: sha256(fs.readFileSync(fakeCert)),
        valueLength: fs.statSync(fakeCert).size,
      },
    ]);
    expect(t.keysBeforeLogin).toEqual([]);
    expect(t.keysAfterLogin).toEqual([{ handle: '0002000000000000', class: '0300000000000000', id: '01', label: 'FAKE KEY' }]);
    expect(t.logoutBeforeLogin).toEqual(pkcs11Error('CKR_USER_NOT_LOGGED_IN', 0x101, 'C_Logout'));
    expect(t.wrongPin).toEqual(pkcs11Error('CKR_PIN_INCORRECT', 0xa0, 'C_Login'));
    expect(t.flagsAfterWrongPin).toBe(0x40c | CKF_USER_PIN_COUNT_LOW);
    const xored = Buffer.from('anaf-token parity challenge').map((b) => b ^ 0x5a);
    expect(t.signature).toBe(Buffer.from(xored).toString('hex'));
    expect(t.lockedPin).toEqual(pkcs11Error('CKR_PIN_LOCKED', 0xa4, 'C_Login'));
    expect(t.flagsAfterLock).toBe(0x40c | CKF_USER_PIN_LOCKED);
    expect(t.rightPinWhenLocked).toEqual(pkcs11Error('CKR_PIN_LOCKED', 0xa4, 'C_Login'));
    expect(t.closeSessionAgain).toEqual(pkcs11Error('CKR_SESSION_HANDLE_INVALID', 0xb3, 'C_CloseSession'));
  });

  it('NSS libraryParameters: koffi passes them whole, pkcs11js 2.1.7 drops their last byte', () => {
    const req = { module: fake, libraryParameters: 'flags=readOnly' };
    const env = { FAKE_PKCS11_MODE: 'token' };
    expect(probe('koffi', req, env).info.libraryDescription.trim()).toBe('flags=readOnly');
    // pkcs11js sizes its copy from napi_get_value_string_utf8's length, which leaves no room for the NUL.
    expect(probe('pkcs11js', req, env).info.libraryDescription.trim()).toBe('flags=readOnl');
  });

  it("NSS's own softokn opens a database given in libraryParameters", () => {
    const softokn = ['/usr/lib/x86_64-linux-gnu/libsoftokn3.so', '/usr/lib/x86_64-linux-gnu/nss/libsoftokn3.so'].find((p) => fs.existsSync(p));
    expect(softokn, 'libsoftokn3.so (Debian libnss3)').toBeDefined();
    const db = tempDir('nssdb');
    execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
    execFileSync('certutil', ['-A', '-d', `sql:${db}`, '-n', 'POPESCU ION', '-t', ',,', '-i', pki.client.certFile]);
    const t = both({ module: softokn!, pin: '', libraryParameters: `configdir='sql:${db}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly ` });
    expect(t.slots.map((s) => (s.token as { label?: string }).label?.trim())).toContain('NSS Certificate DB');
  });

  it('a token pulled out between the slot list and C_GetTokenInfo', () => {
    const t = both({ module: fake, pin: '1234' }, { FAKE_PKCS11_MODE: 'removed' });
    expect(t.slots).toHaveLength(1);
    expect(t.slots[0]!.token).toEqual(pkcs11Error('CKR_DEVICE_REMOVED', 0x32, 'C_GetTokenInfo'));
  });
});

describe("koffi's cryptoki structs are the C compiler's", () => {
  const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;

  /** _Static_assert for the size of every struct and the offset of every member: it compiles only if they agree. */
  function asserts(types: ReturnType<typeof makeTypes>): string {
    const lines = ['#include <stddef.h>', '#include <p11-kit/pkcs11.h>', '#define A(x) _Static_assert(x, #x);'];
    for (const [name, type] of Object.entries(types)) {
      if (name === 'CK_NSS_C_INITIALIZE_ARGS') continue; // not in cryptoki's header; it is the fixture's, checked through it
      // Our CK_FUNCTION_LIST stops at C_Sign: its offsets must agree, not its size.
      if (name !== 'CK_FUNCTION_LIST') lines.push(`A(sizeof(${name}) == ${koffi.sizeof(type)})`);
      for (const member of Object.keys(koffi.introspect(type).members ?? {})) {
        lines.push(`A(offsetof(${name}, ${member}) == ${koffi.offsetof(type, member)})`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  function compiles(cc: string, source: string): void {
    const dir = tempDir('layout');
    const file = path.join(dir, 'layout.c');
    fs.writeFileSync(file, source);
    execFileSync(cc, ['-c', '-I', CRYPTOKI_INCLUDE, '-o', path.join(dir, 'layout.o'), file], { stdio: 'pipe' });
  }

  it('on Linux x64: natural alignment, 64-bit CK_ULONG', () => {
    const linux = makeTypes(koffi, 'unsigned long', false);
    expect(koffi.sizeof(linux.CK_TOKEN_INFO)).toBe(208);
    compiles('cc', asserts(linux));
  });

  it('on Windows x64: every struct packed to 1 byte, 32-bit CK_ULONG (mingw-w64 with the same header)', () => {
    const windows = makeTypes(koffi, 'uint32_t', true);
    expect(koffi.sizeof(windows.CK_TOKEN_INFO)).toBe(160);
    expect(koffi.offsetof(windows.CK_FUNCTION_LIST, 'C_Initialize')).toBe(2);
    compiles(MINGW_CC, asserts(windows));
    // And the check can fail: natural alignment is not Windows' layout.
    expect(() => compiles(MINGW_CC, asserts(makeTypes(koffi, 'uint32_t', false)))).toThrow();
  });
});
