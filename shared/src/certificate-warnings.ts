/**
 * What to warn about a certificate before the authorization, so that the user does not learn
 * it from ANAF's "Access denied". Pure: the host's CLI and the extension's pages both use it.
 */
import type { CertificateDetails } from './schemas/pkcs11.js';

export const EXPIRY_WARNING_DAYS = 30;
const DAY = 86_400_000;

export type CertificateWarning = 'expired' | 'not-yet-valid' | 'expires-soon' | 'not-signature' | 'not-client-auth' | 'not-qualified' | 'no-private-key';

export const CERTIFICATE_WARNING_TEXT: Record<CertificateWarning, { en: string; ro: string }> = {
  expired: { en: 'expired: ANAF will refuse it', ro: 'expirat: ANAF îl va refuza' },
  'not-yet-valid': { en: 'not valid yet', ro: 'încă nevalid' },
  'expires-soon': {
    en: `expires within ${EXPIRY_WARNING_DAYS} days: renew it with your provider`,
    ro: `expiră în mai puțin de ${EXPIRY_WARNING_DAYS} de zile: reînnoiți-l la furnizor`,
  },
  'not-signature': { en: 'not a signature certificate', ro: 'nu este certificat de semnătură' },
  'not-client-auth': {
    en: 'not for client authentication: the browser will not offer it at the ANAF login',
    ro: 'nu este pentru autentificarea clientului: browserul nu îl va oferi la autentificarea ANAF',
  },
  'not-qualified': { en: 'not marked as a qualified certificate', ro: 'nu este marcat drept certificat calificat' },
  'no-private-key': { en: 'no private key for it (on the token or in the store)', ro: 'cheia privată lipsește (de pe token sau din depozit)' },
};

export function certificateWarnings(cert: CertificateDetails, now = Date.now()): CertificateWarning[] {
  const w: CertificateWarning[] = [];
  const end = Date.parse(cert.notAfter);
  if (end <= now) w.push('expired');
  else if (end - now <= EXPIRY_WARNING_DAYS * DAY) w.push('expires-soon');
  if (Date.parse(cert.notBefore) > now) w.push('not-yet-valid');
  if (!cert.signature) w.push('not-signature');
  if (!clientAuth(cert)) w.push('not-client-auth');
  if (!cert.qualified.compliance) w.push('not-qualified');
  if (cert.privateKey === 'absent') w.push('no-private-key');
  return w;
}

/** The certificates worth offering for ANAF: signing, valid now, with a key (or a key hidden behind the PIN). */
export function usableForAnaf(cert: CertificateDetails, now = Date.now()): boolean {
  const w = certificateWarnings(cert, now);
  return !w.some((x) => x === 'expired' || x === 'not-yet-valid' || x === 'not-signature' || x === 'not-client-auth' || x === 'no-private-key');
}

/** anyExtendedKeyUsage, as cert-details.ts names an OID it has no name for. */
const ANY_EKU = '2.5.29.37.0';

/** TLS client authentication is allowed: no extended key usage (any use), clientAuth, or any. */
export function clientAuth(cert: Pick<CertificateDetails, 'extendedKeyUsage'>): boolean {
  const eku = cert.extendedKeyUsage;
  return eku.length === 0 || eku.includes('clientAuth') || eku.includes(ANY_EKU);
}

export type CertificateHolder = 'person' | 'company' | 'unknown';

/**
 * Who holds a qualified certificate, from its subject (ETSI EN 319 412-1): a person has a
 * serialNumber with a personal ID (PNORO-<CNP>, IDC…, PAS…), a company an organizationIdentifier
 * (VATRO-<CUI>, NTRRO-…). The numbers themselves are not returned: a CNP is personal data.
 */
export function certificateHolder(subject: string): CertificateHolder {
  if (/(?:^|,)\s*(?:organizationIdentifier|2\.5\.4\.97)\s*=\s*(?:VAT|NTR)[A-Z]{2}-/i.test(subject)) return 'company';
  if (/(?:^|,)\s*(?:serialNumber|2\.5\.4\.5)\s*=\s*(?:PNO|IDC|PAS|CPI|TIN)[A-Z]{0,2}-/i.test(subject)) return 'person';
  return 'unknown';
}

export const CERTIFICATE_HOLDER_TEXT: Record<CertificateHolder, { en: string; ro: string }> = {
  person: { en: 'a person (CNP in the certificate)', ro: 'persoană fizică (CNP în certificat)' },
  company: { en: 'a company (CUI in the certificate)', ro: 'persoană juridică (CUI în certificat)' },
  unknown: { en: 'holder type not stated', ro: 'tipul titularului nu este precizat' },
};
