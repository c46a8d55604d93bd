/**
 * What can be learnt from ANAF's JWTs without verifying them (we are the client, not the API):
 * expiry, and which certificate authenticated. An unreadable token just yields nothing.
 */
import crypto from 'node:crypto';
import { decodeJwt, type JWTPayload } from 'jose';
import type { CertificateRecord } from '../vault/vault.js';

function claims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

export function jwtExpiry(token: string): number | undefined {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

const str = (v: unknown, max = 1024): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);

/** Certificate facts named by the access token's claims, where ANAF (or the stand-in) puts them. */
export function certificateFromClaims(token: string): CertificateRecord {
  const c = claims(token);
  if (!c) return {};
  const sub = str(c.sub);
  const cnf = c.cnf as Record<string, unknown> | undefined;
  return {
    // A subject that is a distinguished name names the certificate holder; an opaque id does not.
    subject: sub && /(^|,)\s*CN=/i.test(sub) ? sub : undefined,
    serialHex: str(c.cert_serial, 128),
    sha256: cnf && typeof cnf === 'object' ? str(cnf['x5t#S256'], 128) : undefined,
  };
}

export function fingerprint(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex').slice(0, 12);
}
