/**
 * What can be learnt from ANAF's JWTs without verifying them (we are the client, not the API;
 * ANAF publishes no key): expiry, and which certificate authenticated. ANAF names it by
 * `serial` (colon hex), `sub` (the same without colons) and `issuer`, with its `roles`; there is
 * no subject DN. An unreadable token just yields nothing.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import type { CertificateRecord } from '../store/records.js';

function claims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

export function jwtExpiry(token: string): number | undefined {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
}

const str = (v: unknown, max = 1024): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);
const serial = (v: unknown): string | undefined => {
  const s = str(v, 256);
  return s === undefined ? undefined : normalizeSerialHex(s);
};

/** Certificate facts named by the access token's claims: ANAF's, or an RFC-style server's. */
export function certificateFromClaims(token: string): CertificateRecord {
  const c = claims(token);
  if (!c) return {};
  const sub = str(c.sub);
  const cnf = c.cnf as Record<string, unknown> | undefined;
  const roles = str(c.roles, 512) ?? str(c.role, 512);
  return {
    // A subject that is a distinguished name names the certificate holder; ANAF's `sub` is the serial.
    subject: sub && /(^|,)\s*CN=/i.test(sub) ? sub : undefined,
    serialHex: serial(c.serial) ?? serial(c.cert_serial) ?? (sub && /^[0-9a-f:]+$/i.test(sub) ? serial(sub) : undefined),
    issuer: str(c.issuer, 512),
    roles,
    sha256: cnf && typeof cnf === 'object' ? str(cnf['x5t#S256'], 128) : undefined,
  };
}
