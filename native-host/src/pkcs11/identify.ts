/**
 * Who the certificate that authenticated belongs to. ANAF's token names only its serial and
 * issuer: the certificate with that serial on the plugged-in token(s) gives the holder's name.
 * Without a serial, if exactly one certificate could have been used for the login, it is that
 * one. Otherwise the user can name it (`anaf-token label`, or the popup).
 */
import { usableForAnaf } from '#shared/certificate-warnings.js';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import type { ModuleReport } from '#shared/schemas/pkcs11.js';
import type { CertificateRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { scanModules } from './scan.js';

/** A login takes seconds; the user should not wait long for this afterthought. */
const IDENTIFY_LIMIT_MS = 5_000;

export function onlyUsableCertificate(reports: ModuleReport[], now = Date.now()): CertificateRecord | undefined {
  const usable = new Map(
    reports
      .flatMap((m) => m.tokens)
      .flatMap((t) => t.certificates)
      .filter((c) => usableForAnaf(c, now))
      // The same certificate seen through two drivers is one certificate.
      .map((c) => [c.sha256, c] as const),
  );
  if (usable.size !== 1) return undefined;
  const [c] = [...usable.values()];
  return { subject: c!.subject, serialHex: c!.serialHex, sha256: c!.sha256, source: 'only-certificate' };
}

/** The certificate with this serial (normalized hex) on the token(s), whatever its state. */
export function certificateWithSerial(reports: ModuleReport[], serialHex: string): CertificateRecord | undefined {
  const c = reports
    .flatMap((m) => m.tokens)
    .flatMap((t) => t.certificates)
    .find((x) => normalizeSerialHex(x.serialHex) === serialHex);
  return c && { subject: c.subject, serialHex: c.serialHex, sha256: c.sha256, source: 'jwt' };
}

export async function certificateOnToken(configuredModules: string[], serialHex?: string, now = Date.now()): Promise<CertificateRecord | undefined> {
  try {
    const reports = await scanModules(undefined, configuredModules, IDENTIFY_LIMIT_MS);
    return serialHex !== undefined ? certificateWithSerial(reports, serialHex) : onlyUsableCertificate(reports, now);
  } catch {
    return undefined; // no driver: nothing to tell
  }
}

/**
 * Names the holders of stored tokens that ANAF's claims identify only by serial, from a listing
 * of the plugged-in token(s); the store keeps the name once found.
 */
export async function nameHolders(store: Store, reports: ModuleReport[]): Promise<void> {
  for (const [profile, rec] of await store.allTokens()) {
    const serial = rec.certificate.serialHex;
    if (serial === undefined || rec.certificate.subject !== undefined) continue;
    const found = certificateWithSerial(reports, serial);
    if (found) await store.setCertificate(profile, found);
  }
}
