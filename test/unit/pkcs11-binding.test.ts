/**
 * The binding loader and the koffi binding's pieces that need no module: the constants and CKR
 * names are pkcs11js's own numbers, the loader honours ANAF_TOKEN_PKCS11_BINDING, the koffi error
 * has pkcs11js's shape, and this platform's ABI is the one cryptoki defines for it.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as cryptoki from '../../native-host/src/pkcs11/cryptoki.js';
import { abi, koffiBinding, PACKED_STRUCTS, Pkcs11Error } from '../../native-host/src/pkcs11/binding-koffi.js';
import { bindingName, chooseBinding } from '../../native-host/src/pkcs11/binding.js';

const pkcs11js = createRequire(import.meta.url)('pkcs11js') as Record<string, unknown>;

describe('PKCS#11 constants and names', () => {
  it('every constant is the number pkcs11js exports under that name', () => {
    const ours = Object.entries(cryptoki).filter(([name, v]) => /^CK[FUOAMR]_/.test(name) && typeof v === 'number');
    expect(ours.length).toBeGreaterThan(30);
    for (const [name, value] of ours) expect([name, value]).toEqual([name, pkcs11js[name]]);
  });

  it("every CKR name is pkcs11js's for that code, and unknown codes are CKR_VENDOR_DEFINED as there", () => {
    expect(cryptoki.CKR_NAMES.size).toBe(92);
    for (const [code, name] of cryptoki.CKR_NAMES) expect([name, code]).toEqual([name, pkcs11js[name]]);
    expect(cryptoki.ckrName(0xa0)).toBe('CKR_PIN_INCORRECT');
    expect(cryptoki.ckrName(0x80000001)).toBe('CKR_VENDOR_DEFINED');
  });
});

describe('binding.ts', () => {
  it('takes koffi (what the packaged builds carry), and either one when forced', () => {
    expect(process.env.ANAF_TOKEN_PKCS11_BINDING ?? '').toBe('');
    expect(bindingName).toBe('koffi');
    expect(chooseBinding('koffi')).toBe(koffiBinding);
    expect(chooseBinding('pkcs11js').PKCS11).toBe(pkcs11js.PKCS11);
    expect(() => chooseBinding('ffi')).toThrow(/koffi or pkcs11js/);
  });
});

describe('the koffi binding', () => {
  it("throws pkcs11js's Pkcs11Error shape: CKR name as message, code, method", () => {
    const e = new Pkcs11Error(0xa4, 'C_Login');
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(koffiBinding.Pkcs11Error);
    expect({ name: e.name, message: e.message, code: e.code, method: e.method }).toEqual({
      name: 'Pkcs11Error',
      message: 'CKR_PIN_LOCKED',
      code: 0xa4,
      method: 'C_Login',
    });
  });

  it('uses the ABI cryptoki defines for this platform', () => {
    const { koffi, types, ulongSize } = abi();
    const windows = process.platform === 'win32';
    expect(PACKED_STRUCTS).toBe(windows);
    expect(ulongSize).toBe(windows ? 4 : 8); // LLP64 vs LP64 (x64 and arm64)
    expect(koffi.sizeof(types.CK_ATTRIBUTE)).toBe(windows ? 16 : 24);
    expect(koffi.offsetof(types.CK_FUNCTION_LIST, 'C_Initialize')).toBe(windows ? 2 : 8);
  });

  it('refuses a handle that is not a CK_ULONG of this platform, before calling the module', () => {
    const p = new koffiBinding.PKCS11();
    expect(() => p.C_CloseSession(Buffer.alloc(3))).toThrow(TypeError);
    expect(() => p.C_GetSlotInfo(Buffer.alloc(abi().ulongSize))).toThrow(/not loaded/);
  });

  it('fails to load what is not a PKCS#11 module', () => {
    const p = new koffiBinding.PKCS11();
    expect(() => p.load('/etc/hostname')).toThrow();
    // libc loads, but has no C_GetFunctionList.
    expect(() => p.load('libc.so.6')).toThrow(/C_GetFunctionList/);
  });
});
