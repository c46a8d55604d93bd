/**
 * Windows DPAPI (crypt32's CryptProtectData / CryptUnprotectData) in the current user's scope:
 * only this Windows user, on this computer (or with a roaming profile), can unwrap what it wraps.
 * The entropy binds a blob to this product, so another program of the same user that calls
 * CryptUnprotectData on our file without it gets nothing.
 */
import { loadKoffi, namedStruct, type Koffi } from './koffi.js';

/** Never show a UI: the host runs without a window (native messaging, the login service). */
const CRYPTPROTECT_UI_FORBIDDEN = 0x1;

interface Blob {
  cbData: number;
  pbData: unknown;
}

interface Api {
  koffi: Koffi;
  protect(input: Blob, description: string | null, entropy: Blob | null, reserved: null, prompt: null, flags: number, out: Blob): boolean;
  unprotect(input: Blob, description: null, entropy: Blob | null, reserved: null, prompt: null, flags: number, out: Blob): boolean;
  localFree(p: unknown): unknown;
  lastError(): number;
}

let api: Api | undefined;

function bind(): Api {
  if (api) return api;
  const koffi = loadKoffi();
  namedStruct(koffi, 'DATA_BLOB', { cbData: 'uint32_t', pbData: 'void *' });
  const crypt32 = koffi.load('crypt32.dll');
  const kernel32 = koffi.load('kernel32.dll');
  api = {
    koffi,
    protect: crypt32.func(
      'bool __stdcall CryptProtectData(DATA_BLOB *pDataIn, const char16_t *szDataDescr, DATA_BLOB *pOptionalEntropy, void *pvReserved, void *pPromptStruct, uint32_t dwFlags, _Out_ DATA_BLOB *pDataOut)',
    ),
    unprotect: crypt32.func(
      'bool __stdcall CryptUnprotectData(DATA_BLOB *pDataIn, void *ppszDataDescr, DATA_BLOB *pOptionalEntropy, void *pvReserved, void *pPromptStruct, uint32_t dwFlags, _Out_ DATA_BLOB *pDataOut)',
    ),
    localFree: kernel32.func('void * __stdcall LocalFree(void *hMem)'),
    lastError: kernel32.func('uint32_t __stdcall GetLastError()'),
  };
  return api;
}

const blobOf = (b: Buffer): Blob => ({ cbData: b.length, pbData: b });

/** Copies DPAPI's output out of its LocalAlloc'd memory, then frees it. */
function take(a: Api, out: Blob): Buffer {
  try {
    return Buffer.from(a.koffi.decode(out.pbData, 'uint8_t', out.cbData) as number[]);
  } finally {
    a.localFree(out.pbData);
  }
}

export function dpapiProtect(data: Buffer, entropy: Buffer, description: string): Buffer {
  const a = bind();
  const out: Blob = { cbData: 0, pbData: null };
  if (!a.protect(blobOf(data), description, blobOf(entropy), null, null, CRYPTPROTECT_UI_FORBIDDEN, out)) {
    throw new Error(`CryptProtectData failed (error ${a.lastError()})`);
  }
  return take(a, out);
}

export function dpapiUnprotect(wrapped: Buffer, entropy: Buffer): Buffer {
  const a = bind();
  const out: Blob = { cbData: 0, pbData: null };
  if (!a.unprotect(blobOf(wrapped), null, blobOf(entropy), null, null, CRYPTPROTECT_UI_FORBIDDEN, out)) {
    throw new Error(`CryptUnprotectData failed (error ${a.lastError()})`);
  }
  return take(a, out);
}
