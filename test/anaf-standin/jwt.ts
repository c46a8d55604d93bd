// Signing and verifying the stand-in's JWTs. One RSA key serves both dialects (RS256 for
// 'rfc', RS512 for 'anaf'): a Node KeyObject, unlike a WebCrypto CryptoKey, is not bound to
// one hash, so a test can switch dialect on a running stand-in without a second key.
import { X509Certificate, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, exportJWK, jwtVerify, type JWTPayload } from 'jose';

export type JwtAlg = 'RS256' | 'RS512';

export interface SigningKey {
  publicKey: KeyObject;
  privateKey: KeyObject;
  /** kid of the rfc dialect; the anaf dialect uses ANAF's fixed kid instead. */
  rfcKid: string;
  /** Public JWK without alg: the caller adds the alg of its current dialect. */
  publicJwk: JsonWebKey;
}

let sharedKey: Promise<SigningKey> | undefined;

// RSA key generation costs 100-300 ms, too much per test; one key per process is shared by all
// instances. Tokens still cannot cross instances: each instance only honours tokens it recorded.
export function signingKey(): Promise<SigningKey> {
  sharedKey ??= (async () => {
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    const publicJwk: JsonWebKey = { ...(await exportJWK(publicKey)), use: 'sig' };
    return { publicKey, privateKey, rfcKid: randomToken(8), publicJwk };
  })();
  return sharedKey;
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export interface SignInput {
  alg: JwtAlg;
  kid: string;
  /** Every claim, registered ones included, in the order they should appear. */
  claims: JWTPayload;
}

export function signJwt(key: SigningKey, input: SignInput): Promise<string> {
  return new SignJWT(input.claims).setProtectedHeader({ alg: input.alg, typ: 'JWT', kid: input.kid }).sign(key.privateKey);
}

/** Payload when the signature, alg, issuer, nbf and exp (by the given clock) all check out. */
export async function verifyJwt(key: SigningKey, token: string, expect: { alg: JwtAlg; issuer: string; nowMs: number }): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [expect.alg],
      issuer: expect.issuer,
      currentDate: new Date(expect.nowMs),
    });
    return payload;
  } catch {
    return undefined;
  }
}

/**
 * The certificate serial as ANAF writes it in the token's `serial` claim: the bytes of the DER
 * INTEGER without a leading 00 sign byte, lowercase hex, colon-separated ("4a:1f:00:...").
 */
export function certSerialColonHex(certPem: string | Buffer): string {
  return serialColonHex(new X509Certificate(certPem).serialNumber);
}

export function serialColonHex(serialNumber: string): string {
  // Node prints the serial as hex of the integer's value; normalise to whole bytes.
  let hex = serialNumber.toLowerCase().replace(/^0+/, '');
  if (hex.length % 2 === 1) hex = '0' + hex;
  if (hex === '') hex = '00';
  return hex.match(/../g)?.join(':') ?? hex;
}

/** CN of the certificate's issuer, as ANAF puts it in the `issuer` claim. */
export function issuerCommonName(x: X509Certificate): string {
  const line = x.issuer.split('\n').find((l) => l.startsWith('CN='));
  return line ? line.slice(3) : x.issuer;
}
