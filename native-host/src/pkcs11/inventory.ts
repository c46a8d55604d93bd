/**
 * Talks to one PKCS#11 module through binding.ts (pkcs11js or koffi). Runs inside the isolated worker process only
 * (see run-isolated.ts): a vendor driver can hang or crash, and must not take the host with it.
 * Every path out of a module goes through C_Finalize.
 */
import crypto from 'node:crypto';
// Named pkcs11js still: the loader has pkcs11js's shape, whichever binding it chose.
import * as pkcs11js from './binding.js';
import { AppError } from '#shared/errors.js';
import type { CertificateDetails, ModuleReport, PinCheckResult, PinStatus, TokenDetails } from '#shared/schemas/pkcs11.js';
import { certificateDetails } from './cert-details.js';
import { withModule, type ModuleErrors } from './with-module.js';

/** Slot flag from the PKCS#11 spec that pkcs11js does not export. */
const CKF_TOKEN_PRESENT = 0x1;

const trim = (s: string) => s.replace(/\0/g, '').trim();

/** PKCS#11 return values that mean the token went away. */
const REMOVED = new Set([pkcs11js.CKR_DEVICE_REMOVED, pkcs11js.CKR_TOKEN_NOT_PRESENT, pkcs11js.CKR_SESSION_HANDLE_INVALID, pkcs11js.CKR_DEVICE_ERROR]);

export function pkcs11Failure(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof pkcs11js.Pkcs11Error) {
    const what = `${e.method || 'PKCS#11'}: ${e.message}`.slice(0, 200);
    if (REMOVED.has(e.code)) return new AppError('PKCS11_TOKEN_REMOVED', what);
    if (e.code === pkcs11js.CKR_PIN_INCORRECT) return new AppError('PKCS11_PIN_INCORRECT', what);
    if (e.code === pkcs11js.CKR_PIN_LOCKED) return new AppError('PKCS11_PIN_LOCKED', what);
    return new AppError('PKCS11_ERROR', what);
  }
  return new AppError('PKCS11_ERROR', e instanceof Error ? e.message.slice(0, 200) : undefined);
}

function pinStatus(flags: number): PinStatus {
  return {
    countLow: (flags & pkcs11js.CKF_USER_PIN_COUNT_LOW) !== 0,
    finalTry: (flags & pkcs11js.CKF_USER_PIN_FINAL_TRY) !== 0,
    locked: (flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0,
  };
}

/** A driver that cannot load says so by path; anything C_Initialize answers is fatal. */
const DRIVER_ERRORS = (path: string): ModuleErrors => ({
  loadFailed: (e) => new AppError('PKCS11_LOAD_FAILED', `${path}: ${(e as Error).message}`.slice(0, 300)),
  initFailed: (e) => pkcs11Failure(e),
});

function findAll(p11: pkcs11js.PKCS11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  p11.C_FindObjectsInit(session, template);
  try {
    const found: Buffer[] = [];
    for (;;) {
      const batch = p11.C_FindObjects(session, 32);
      if (!batch.length) return found;
      found.push(...batch);
    }
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

function attrs(p11: pkcs11js.PKCS11, session: Buffer, obj: Buffer, types: number[]): Map<number, Buffer> {
  const got = p11.C_GetAttributeValue(
    session,
    obj,
    types.map((type) => ({ type })),
  );
  return new Map(got.map((a) => [a.type, Buffer.isBuffer(a.value) ? a.value : Buffer.alloc(0)]));
}

function listCertificates(p11: pkcs11js.PKCS11, session: Buffer, loginRequired: boolean, loggedIn: boolean): CertificateDetails[] {
  const keyIds = new Set(
    findAll(p11, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]).map((k) =>
      (attrs(p11, session, k, [pkcs11js.CKA_ID]).get(pkcs11js.CKA_ID) ?? Buffer.alloc(0)).toString('hex'),
    ),
  );
  const certs: CertificateDetails[] = [];
  for (const obj of findAll(p11, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }])) {
    const a = attrs(p11, session, obj, [pkcs11js.CKA_VALUE, pkcs11js.CKA_ID, pkcs11js.CKA_LABEL]);
    const der = a.get(pkcs11js.CKA_VALUE);
    if (!der?.length) continue;
    const id = (a.get(pkcs11js.CKA_ID) ?? Buffer.alloc(0)).toString('hex');
    // Private keys are private objects on most tokens: invisible until the PIN is given.
    const privateKey = keyIds.has(id) ? 'present' : loginRequired && !loggedIn ? 'unknown' : 'absent';
    try {
      certs.push(certificateDetails(der, id, trim((a.get(pkcs11js.CKA_LABEL) ?? Buffer.alloc(0)).toString('utf8')), privateKey));
    } catch {
      /* not an X.509 certificate we can read: skip it rather than fail the listing */
    }
  }
  return certs;
}

function inspectSlot(p11: pkcs11js.PKCS11, slot: Buffer): TokenDetails {
  const slotInfo = p11.C_GetSlotInfo(slot);
  const base: TokenDetails = {
    slotId: slot.toString('hex'),
    slotDescription: trim(slotInfo.slotDescription),
    present: (slotInfo.flags & CKF_TOKEN_PRESENT) !== 0,
    certificates: [],
  };
  if (!base.present) return base;
  try {
    const info = p11.C_GetTokenInfo(slot);
    Object.assign(base, {
      label: trim(info.label),
      manufacturer: trim(info.manufacturerID),
      model: trim(info.model),
      serial: trim(info.serialNumber),
      initialized: (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0,
      loginRequired: (info.flags & pkcs11js.CKF_LOGIN_REQUIRED) !== 0,
      pin: pinStatus(info.flags),
    });
    // An uninitialized token (SoftHSM's spare slot, a blank card) has nothing to open.
    if (!base.initialized) return base;
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      base.certificates = listCertificates(p11, session, base.loginRequired ?? false, false);
    } finally {
      try {
        p11.C_CloseSession(session);
      } catch {
        /* the token may be gone already */
      }
    }
  } catch (e) {
    base.error = pkcs11Failure(e).toPayload();
  }
  return base;
}

export function inspectModule(path: string): ModuleReport {
  return withModule(path, DRIVER_ERRORS(path), (p11) => {
    const info = p11.C_GetInfo();
    const tokens = p11.C_GetSlotList(false).map((slot) => inspectSlot(p11, slot));
    return {
      path,
      library: {
        manufacturer: trim(info.manufacturerID),
        description: trim(info.libraryDescription),
        version: `${info.libraryVersion.major}.${info.libraryVersion.minor}`,
      },
      tokens,
    };
  });
}

export interface PinCheckRequest {
  module: string;
  tokenSerial: string;
  certId: string;
  pin: string;
}

function mechanismFor(certDer: Buffer): { mechanism: number; name: string; verify: (data: Buffer, sig: Buffer) => boolean } {
  const cert = new crypto.X509Certificate(certDer);
  const key = cert.publicKey;
  if (key.asymmetricKeyType === 'ec') {
    return {
      mechanism: pkcs11js.CKM_ECDSA,
      name: 'CKM_ECDSA',
      // CKM_ECDSA signs the SHA-256 digest we pass; the answer is raw r||s.
      verify: (data, sig) => crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig),
    };
  }
  return {
    mechanism: pkcs11js.CKM_SHA256_RSA_PKCS,
    name: 'CKM_SHA256_RSA_PKCS',
    verify: (data, sig) => crypto.verify('sha256', data, key, sig),
  };
}

/**
 * Proves the PIN and the key: logs in and signs a random challenge with the certificate's key,
 * then verifies the signature with the certificate. The PIN goes only to C_Login.
 */
export function checkPin(req: PinCheckRequest): PinCheckResult {
  return withModule(req.module, DRIVER_ERRORS(req.module), (p11) => {
    const slot = p11.C_GetSlotList(true).find((s) => trim(p11.C_GetTokenInfo(s).serialNumber) === req.tokenSerial);
    if (!slot) throw new AppError('CERT_NOT_FOUND', `no token with serial ${req.tokenSerial}`);
    const before = pinStatus(p11.C_GetTokenInfo(slot).flags);
    if (before.locked) throw new AppError('PKCS11_PIN_LOCKED');
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      const id = Buffer.from(req.certId, 'hex');
      const [certObj] = findAll(p11, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
        { type: pkcs11js.CKA_ID, value: id },
      ]);
      if (!certObj) throw new AppError('CERT_NOT_FOUND', `no certificate with id ${req.certId}`);
      const der = attrs(p11, session, certObj, [pkcs11js.CKA_VALUE]).get(pkcs11js.CKA_VALUE)!;
      try {
        p11.C_Login(session, pkcs11js.CKU_USER, req.pin);
      } catch (e) {
        const err = pkcs11Failure(e);
        const after = pinStatus(p11.C_GetTokenInfo(slot).flags);
        if (err.code === 'PKCS11_PIN_INCORRECT') {
          const warn = after.locked ? 'the PIN is now locked' : after.finalTry ? 'one try left before the token locks' : 'a wrong try was counted';
          throw new AppError(after.locked ? 'PKCS11_PIN_LOCKED' : 'PKCS11_PIN_INCORRECT', warn);
        }
        throw err;
      }
      try {
        const [keyObj] = findAll(p11, session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_ID, value: id },
        ]);
        if (!keyObj) throw new AppError('CERT_NOT_FOUND', 'no private key for this certificate');
        const m = mechanismFor(der);
        const challenge = crypto.randomBytes(32);
        const input = m.mechanism === pkcs11js.CKM_ECDSA ? crypto.createHash('sha256').update(challenge).digest() : challenge;
        p11.C_SignInit(session, { mechanism: m.mechanism }, keyObj);
        const sig = p11.C_Sign(session, input, Buffer.alloc(1024));
        return { ok: true, pin: pinStatus(p11.C_GetTokenInfo(slot).flags), mechanism: m.name, signatureVerified: m.verify(challenge, sig) };
      } finally {
        p11.C_Logout(session);
      }
    } finally {
      p11.C_CloseSession(session);
    }
  });
}
