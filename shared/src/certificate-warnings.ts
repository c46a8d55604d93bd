/**
 * What to warn about a certificate before the authorization, so that the user does not learn
 * it from ANAF's "Access denied". Pure: the host's CLI and the extension's pages both use it.
 */
import type { CertificateDetails } from './schemas/pkcs11.js';

export const EXPIRY_WARNING_DAYS = 30;
const DAY = 86_400_000;

export type CertificateWarning = 'expired' | 'not-yet-valid' | 'expires-soon' | 'not-signature' | 'not-qualified' | 'no-private-key';

export const CERTIFICATE_WARNING_TEXT: Record<CertificateWarning, { en: string; ro: string }> = {
  expired: { en: 'expired: ANAF will refuse it', ro: 'expirat: ANAF îl va refuza' },
  'not-yet-valid': { en: 'not valid yet', ro: 'încă nevalid' },
  'expires-soon': { en: `expires within ${EXPIRY_WARNING_DAYS} days: renew it with your provider`, ro: `expiră în mai puțin de ${EXPIRY_WARNING_DAYS} de zile: reînnoiți-l la furnizor` },
  'not-signature': { en: 'not a signature certificate', ro: 'nu este certificat de semnătură' },
  'not-qualified': { en: 'not marked as a qualified certificate', ro: 'nu este marcat drept certificat calificat' },
  'no-private-key': { en: 'no private key for it on the token', ro: 'cheia privată lipsește de pe token' },
};

export function certificateWarnings(cert: CertificateDetails, now = Date.now()): CertificateWarning[] {
  const w: CertificateWarning[] = [];
  const end = Date.parse(cert.notAfter);
  if (end <= now) w.push('expired');
  else if (end - now <= EXPIRY_WARNING_DAYS * DAY) w.push('expires-soon');
  if (Date.parse(cert.notBefore) > now) w.push('not-yet-valid');
  if (!cert.signature) w.push('not-signature');
  if (!cert.qualified.compliance) w.push('not-qualified');
  if (cert.privateKey === 'absent') w.push('no-private-key');
  return w;
}

/** The certificates worth offering for ANAF: signing, valid now, with a key (or a key hidden behind the PIN). */
export function usableForAnaf(cert: CertificateDetails, now = Date.now()): boolean {
  const w = certificateWarnings(cert, now);
  return !w.some((x) => x === 'expired' || x === 'not-yet-valid' || x === 'not-signature' || x === 'no-private-key');
}
