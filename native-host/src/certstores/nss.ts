/**
 * Linux: Chromium's (and Chrome's, Edge's, Brave's) own certificate database, ~/.pki/nssdb in
 * NSS's "sql:" format. NSS's software token (libsoftokn3.so) is itself a PKCS#11 module: opened
 * read-only with its own init parameters, it lists the certificates and keys the browser sees,
 * through the same PKCS#11 binding as the USB token (pkcs11/binding.ts).
 *
 * Only the database is read: PKCS#11 modules registered in it (pkcs11.txt, a USB token's
 * driver) are the `certs` command's business.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import type { CertificateDetails } from '#shared/schemas/pkcs11.js';
import * as pkcs11js from '../pkcs11/binding.js';
import { certificateDetails } from '../pkcs11/cert-details.js';
import { withModule, type ModuleErrors } from '../pkcs11/with-module.js';

/** Where distributions put NSS's softokn. */
export const SOFTOKN_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libsoftokn3.so',
  '/usr/lib/aarch64-linux-gnu/libsoftokn3.so',
  '/usr/lib64/libsoftokn3.so',
  '/usr/lib/libsoftokn3.so',
  '/usr/lib/x86_64-linux-gnu/nss/libsoftokn3.so',
  '/usr/lib64/nss/libsoftokn3.so',
];

/** More than a person's database ever holds: a bound on one someone filled. */
const MAX_CERTIFICATES = 200;
const CKF_TOKEN_PRESENT = 0x1;

export function findSoftokn(exists: (p: string) => boolean = fs.existsSync): string | undefined {
  return SOFTOKN_PATHS.find(exists);
}

/** The databases Chromium-family browsers use: the usual one, and the Chromium snap's. */
export function nssDatabases(home: string, exists: (p: string) => boolean = fs.existsSync): string[] {
  return [path.join(home, '.pki', 'nssdb'), path.join(home, 'snap', 'chromium', 'current', '.pki', 'nssdb')].filter((d) => exists(path.join(d, 'cert9.db')));
}

/** softokn's C_Initialize parameters for a read-only look at a "sql:" database. */
export function softoknParameters(dbDir: string): string {
  // NSS's parameter syntax has no escape for a quote inside a quoted value.
  if (/['"\0]/.test(dbDir)) throw new AppError('CERT_STORE_UNAVAILABLE', `${dbDir}: a quote in the path cannot be passed to NSS`);
  // The trailing space: pkcs11js (selectable instead of koffi) drops the string's last byte.
  return `configdir='sql:${dbDir}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly `;
}

const trim = (s: string) => s.replace(/\0/g, '').trim();

function findAll(p11: pkcs11js.PKCS11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  p11.C_FindObjectsInit(session, template);
  try {
    const found: Buffer[] = [];
    for (let batch = p11.C_FindObjects(session, 64); batch.length; batch = p11.C_FindObjects(session, 64)) found.push(...batch);
    return found;
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

function attribute(p11: pkcs11js.PKCS11, session: Buffer, obj: Buffer, type: number): Buffer {
  const [a] = p11.C_GetAttributeValue(session, obj, [{ type }]);
  return Buffer.isBuffer(a?.value) ? a.value : Buffer.alloc(0);
}

function listSlot(p11: pkcs11js.PKCS11, slot: Buffer): CertificateDetails[] {
  const info = p11.C_GetTokenInfo(slot);
  // A database with a password hides its keys until it is given: "unknown", not "absent".
  const hidden = (info.flags & pkcs11js.CKF_LOGIN_REQUIRED) !== 0;
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
  try {
    const keyIds = new Set(
      findAll(p11, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]).map((k) =>
        attribute(p11, session, k, pkcs11js.CKA_ID).toString('hex'),
      ),
    );
    const certs: CertificateDetails[] = [];
    for (const obj of findAll(p11, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }]).slice(0, MAX_CERTIFICATES)) {
      const der = attribute(p11, session, obj, pkcs11js.CKA_VALUE);
      if (!der.length) continue;
      const id = attribute(p11, session, obj, pkcs11js.CKA_ID).toString('hex');
      const privateKey = keyIds.has(id) ? 'present' : hidden ? 'unknown' : 'absent';
      try {
        certs.push(
          certificateDetails(der, id.slice(0, 256), trim(attribute(p11, session, obj, pkcs11js.CKA_LABEL).toString('utf8')).slice(0, 512), privateKey),
        );
      } catch {
        /* not an X.509 certificate we can read */
      }
    }
    return certs;
  } finally {
    p11.C_CloseSession(session);
  }
}

/** Every certificate in one NSS database, each with whether the database holds its key. */
export function listNssDatabase(dbDir: string, softokn: string): CertificateDetails[] {
  const errors: ModuleErrors = {
    loadFailed: (e) => new AppError('CERT_STORE_UNAVAILABLE', `${softokn}: ${(e as Error).message}`.slice(0, 300)),
    initFailed: (e) => new AppError('CERT_STORE_UNAVAILABLE', `NSS ${dbDir}: ${(e as Error).message}`.slice(0, 300)),
  };
  return withModule(
    softokn,
    errors,
    (p11) => {
      // softokn has a crypto-only slot beside the database's; only tokens with objects add anything.
      const certs = p11
        .C_GetSlotList(true)
        .filter((s) => (p11.C_GetSlotInfo(s).flags & CKF_TOKEN_PRESENT) !== 0)
        .flatMap((s) => listSlot(p11, s));
      const seen = new Set<string>();
      return certs.filter((c) => !seen.has(c.sha256) && seen.add(c.sha256));
    },
    softoknParameters(dbDir),
  );
}

export function nssReports(home: string, softokn = findSoftokn()): BrowserStoreReport[] {
  return nssDatabases(home).map((dir): BrowserStoreReport => {
    const location = `sql:${dir}`;
    try {
      if (!softokn) throw new AppError('CERT_STORE_UNAVAILABLE', `NSS's libsoftokn3.so is not installed (looked in ${SOFTOKN_PATHS.join(', ')})`);
      return { store: 'nss', location, certificates: listNssDatabase(dir, softokn) };
    } catch (e) {
      const err = AppError.from(e, 'CERT_STORE_UNAVAILABLE', (x) => x.message.slice(0, 300));
      return { store: 'nss', location, certificates: [], error: err.toPayload() };
    }
  });
}
