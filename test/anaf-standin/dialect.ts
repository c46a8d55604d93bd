// What differs between the two dialects the stand-in speaks, kept in one place so server.ts
// reads as one flow. 'anaf' mirrors what the real logincert.anaf.ro answers (see
// /work/shared/anaf-facts.md); 'rfc' is the earlier, standards-shaped stand-in that suites
// written against RFC 6749/7009 behaviour can still ask for.
import type { JWTPayload } from 'jose';
import type { JwtAlg } from './jwt.js';

export type Dialect = 'anaf' | 'rfc';

// Real tokens carry these fixed values; copying them lets clients be tested against the same
// claim set they will meet in production.
export const ANAF_ISSUER = 'https://logincert.anaf.ro';
export const ANAF_KID = 'anaf_2023_2024';
export const ANAF_SCOPE = 'clientappid info issuer role serial';
export const ANAF_ROLES = 'HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA';

export const DEAD_REFRESH_DESCRIPTION = 'Refresh Token status is expired';
export const STALE_CODE_DESCRIPTION = 'Invalid authorization code';
export const LOGIN_WALL_PATH = '/my.policy';
export const INVALID_CLIENT_CHALLENGE = 'Basic realm="anaf-oauth2"';

export function jwtAlg(d: Dialect): JwtAlg {
  return d === 'anaf' ? 'RS512' : 'RS256';
}

export function redirectMismatchDescription(redirectUri: string): string {
  return `Redirect-URI (${redirectUri}) does not match with client app configuration.`;
}

/** What the stand-in knows about the certificate presented at authorize. */
export interface CertBinding {
  /** RFC 4514-style subject, most specific RDN first (rfc dialect's `sub`). */
  subject: string;
  commonName: string;
  /** Uppercase hex without separators (rfc dialect's `cert_serial`). */
  serialHex: string;
  /** Lowercase colon-separated bytes (anaf dialect's `serial`). */
  serialColon: string;
  issuerCommonName: string;
  x5tS256: string;
}

export interface ClaimInput {
  clientId: string;
  cert: CertBinding;
  authTimeSec: number;
  iat: number;
  exp: number;
  jti: string;
  /** The rfc dialect's issuer is the stand-in's own URL. */
  standinUrl: string;
  use: 'access' | 'refresh';
}

export function tokenClaims(d: Dialect, c: ClaimInput): JWTPayload {
  if (d === 'rfc') {
    return {
      sub: c.cert.subject,
      cert_serial: c.cert.serialHex,
      cnf: { 'x5t#S256': c.cert.x5tS256 },
      client_id: c.clientId,
      auth_time: c.authTimeSec,
      token_use: c.use,
      iss: c.standinUrl,
      aud: c.clientId,
      iat: c.iat,
      exp: c.exp,
      jti: c.jti,
    };
  }
  // Access and refresh tokens look alike on ANAF; the stand-in tells them apart by its records.
  return {
    sub: c.cert.serialColon.replace(/:/g, ''),
    clientappid: c.clientId,
    serial: c.cert.serialColon,
    issuer: c.cert.issuerCommonName,
    roles: ANAF_ROLES,
    scope: ANAF_SCOPE,
    token_type: 'Bearer',
    iss: ANAF_ISSUER,
    iat: c.iat,
    nbf: c.iat,
    exp: c.exp,
    jti: c.jti,
  };
}

export function tokenIssuer(d: Dialect, standinUrl: string): string {
  return d === 'anaf' ? ANAF_ISSUER : standinUrl;
}
