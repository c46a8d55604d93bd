/**
 * Windows: the current user's personal store (CurrentUser\My), where Chrome and Edge find the
 * client certificates they offer. A USB token's minidriver (through the smart-card certificate
 * propagation service) puts its certificates there, linked to the key on the token.
 * Read through crypt32 with koffi, the store opened read-only.
 */
import { createHash } from 'node:crypto';
import { AppError } from '#shared/errors.js';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import type { CertificateDetails } from '#shared/schemas/pkcs11.js';
import { certificateDetails } from '../pkcs11/cert-details.js';
import { loadKoffi, namedStruct, type Koffi } from '../platform/koffi.js';

const CERT_STORE_PROV_SYSTEM_W = 10;
const CERT_SYSTEM_STORE_CURRENT_USER = 1 << 16;
const CERT_STORE_READONLY_FLAG = 0x8000;
const CERT_STORE_OPEN_EXISTING_FLAG = 0x4000;
const CERT_KEY_PROV_INFO_PROP_ID = 2;
const CERT_FRIENDLY_NAME_PROP_ID = 11;
const ERROR_FILE_NOT_FOUND = 2;
/** More than a person's store ever holds: a bound on a store someone filled (the answer must fit a 1 MB native message). */
const MAX_CERTIFICATES = 200;

export const WINDOWS_STORE_LOCATION = 'CurrentUser\\My';

interface CertContext {
  dwCertEncodingType: number;
  pbCertEncoded: unknown;
  cbCertEncoded: number;
}

interface KeyProvInfo {
  pwszContainerName: string | null;
  pwszProvName: string | null;
}

export interface Crypt32 {
  koffi: Koffi;
  openStore(provider: number, encoding: number, hCryptProv: null, flags: number, name: string): unknown;
  enumCertificates(store: unknown, previous: unknown): unknown;
  getProperty(ctx: unknown, propId: number, data: Buffer | null, size: number[]): boolean;
  closeStore(store: unknown, flags: number): boolean;
  freeContext(ctx: unknown): boolean;
  lastError(): number;
}

let bound: Crypt32 | undefined;

/** crypt32's store functions through koffi (also used by the wine test to fill a store). */
export function crypt32(): Crypt32 {
  if (bound) return bound;
  const koffi = loadKoffi();
  namedStruct(koffi, 'CERT_CONTEXT', {
    dwCertEncodingType: 'uint32_t',
    pbCertEncoded: 'uint8_t *',
    cbCertEncoded: 'uint32_t',
    pCertInfo: 'void *',
    hCertStore: 'void *',
  });
  namedStruct(koffi, 'CRYPT_KEY_PROV_INFO', {
    pwszContainerName: 'char16_t *',
    pwszProvName: 'char16_t *',
    dwProvType: 'uint32_t',
    dwFlags: 'uint32_t',
    cProvParam: 'uint32_t',
    rgProvParam: 'void *',
    dwKeySpec: 'uint32_t',
  });
  const lib = koffi.load('crypt32.dll');
  bound = {
    koffi,
    openStore: lib.func(
      'void * __stdcall CertOpenStore(intptr_t lpszStoreProvider, uint32_t dwEncodingType, void *hCryptProv, uint32_t dwFlags, const char16_t *pvPara)',
    ),
    enumCertificates: lib.func('CERT_CONTEXT * __stdcall CertEnumCertificatesInStore(void *hCertStore, CERT_CONTEXT *pPrevCertContext)'),
    getProperty: lib.func(
      'bool __stdcall CertGetCertificateContextProperty(CERT_CONTEXT *pCertContext, uint32_t dwPropId, void *pvData, _Inout_ uint32_t *pcbData)',
    ),
    closeStore: lib.func('bool __stdcall CertCloseStore(void *hCertStore, uint32_t dwFlags)'),
    freeContext: lib.func('bool __stdcall CertFreeCertificateContext(CERT_CONTEXT *pCertContext)'),
    lastError: koffi.load('kernel32.dll').func('uint32_t __stdcall GetLastError()'),
  };
  return bound;
}

function property(c: Crypt32, ctx: unknown, id: number): Buffer | undefined {
  const size = [0];
  if (!c.getProperty(ctx, id, null, size) || !size[0]) return undefined;
  const data = Buffer.alloc(size[0]);
  if (!c.getProperty(ctx, id, data, size)) return undefined;
  return data.subarray(0, size[0]);
}

/** The key provider's name ("eToken Base Cryptographic Provider", "Microsoft Smart Card Key Storage Provider"), when a key is linked. */
function keyProvider(c: Crypt32, ctx: unknown): string | undefined {
  const data = property(c, ctx, CERT_KEY_PROV_INFO_PROP_ID);
  if (!data) return undefined;
  // The structure's string pointers point into the same buffer.
  const info = c.koffi.decode(data, 'CRYPT_KEY_PROV_INFO') as KeyProvInfo;
  return info.pwszProvName ?? '';
}

function friendlyName(c: Crypt32, ctx: unknown): string | undefined {
  const data = property(c, ctx, CERT_FRIENDLY_NAME_PROP_ID);
  return data ? data.toString('utf16le').replace(/\0+$/, '') : undefined;
}

/** Every certificate in CurrentUser\My, parsed like the token's, each with its key link. */
export function listWindowsStore(): CertificateDetails[] {
  const c = crypt32();
  const store = c.openStore(CERT_STORE_PROV_SYSTEM_W, 0, null, CERT_SYSTEM_STORE_CURRENT_USER | CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG, 'MY');
  if (!store) {
    const error = c.lastError();
    // A user who never had a personal certificate may have no My store yet: nothing to offer.
    if (error === ERROR_FILE_NOT_FOUND) return [];
    throw new AppError('CERT_STORE_UNAVAILABLE', `CertOpenStore(${WINDOWS_STORE_LOCATION}) failed (error ${error})`);
  }
  const certs: CertificateDetails[] = [];
  // Each enumeration call frees the context it is given: the loop owns exactly one at a time,
  // freed here if the loop is left early.
  let ctx: unknown = null;
  try {
    for (ctx = c.enumCertificates(store, null); ctx; ctx = c.enumCertificates(store, ctx)) {
      if (certs.length >= MAX_CERTIFICATES) continue;
      const info = c.koffi.decode(ctx, 'CERT_CONTEXT') as CertContext;
      const der = Buffer.from(c.koffi.decode(info.pbCertEncoded, 'uint8_t', info.cbCertEncoded) as number[]);
      const provider = keyProvider(c, ctx);
      const label = friendlyName(c, ctx) || provider || '';
      try {
        const details = certificateDetails(der, '', label.slice(0, 512), provider === undefined ? 'absent' : 'present');
        // Windows names a certificate by its SHA-1 thumbprint (certmgr.msc, PowerShell Cert:\).
        certs.push({ ...details, id: thumbprint(der) });
      } catch {
        /* not an X.509 certificate we can read: skip it rather than fail the listing */
      }
    }
  } finally {
    if (ctx) c.freeContext(ctx);
    c.closeStore(store, 0);
  }
  return certs;
}

function thumbprint(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

export function windowsStoreReport(): BrowserStoreReport {
  try {
    return { store: 'windows-my', location: WINDOWS_STORE_LOCATION, certificates: listWindowsStore() };
  } catch (e) {
    const err = AppError.from(e, 'CERT_STORE_UNAVAILABLE', (x) => x.message.slice(0, 300));
    return { store: 'windows-my', location: WINDOWS_STORE_LOCATION, certificates: [], error: err.toPayload() };
  }
}
