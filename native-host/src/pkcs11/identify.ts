/**
 * Which certificate authenticated, when ANAF's token does not say: if exactly one certificate
 * on the plugged-in token(s) could have been used for the login, it is that one. Otherwise the
 * user can name it (`anaf-token label`, or the popup).
 */
import { usableForAnaf } from '../../../shared/src/certificate-warnings.js';
import type { ModuleReport } from '../../../shared/src/schemas/pkcs11.js';
import type { CertificateRecord } from '../vault/vault.js';
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

export async function certificateOnToken(configuredModules: string[], now = Date.now()): Promise<CertificateRecord | undefined> {
  try {
    return onlyUsableCertificate(await scanModules(undefined, configuredModules, IDENTIFY_LIMIT_MS), now);
  } catch {
    return undefined; // no driver: nothing to tell
  }
}
