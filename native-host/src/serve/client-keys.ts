/**
 * Client keys for the ERP token service, and the proof that replaces sending them.
 *
 * A key is random, shown once, and kept in the store sealed with its key (vault or team key). It never
 * travels: the ERP fetches a nonce from `GET /v1/challenge` and sends
 *
 *   Authorization: AnafToken client="<name>", nonce="<nonce>", proof="<base64url HMAC-SHA256(key, msg)>"
 *   msg = "anaf-token-v1\n" + nonce + "\n" + <the Host header of the request, e.g. 127.0.0.1:8787>
 *
 * A program that listens on the port in place of `serve` (while it is down, or on the address it
 * does not hold) receives a proof over its own nonce or for its own port: worthless to this
 * service, which accepts a proof only over a nonce it issued and still holds, for the Host it
 * listens on.
 *
 * The other way round, opt-in: an ERP that adds `cnonce="<its own fresh nonce>"` to the header
 * gets every answer to that request vouched for with
 *
 *   AnafToken-Server-Proof: <base64url HMAC-SHA256(key, server msg)>
 *   server msg = "anaf-token-v1-server\n" + cnonce + "\n" + nonce + "\n" + Host + "\n" + status + "\n"
 *                + lowercase hex SHA-256 of the body's bytes
 *
 * Only a holder of the key can make it (serve, or the ERP itself); it names the ERP's cnonce, so
 * an answer recorded earlier does not pass for a new request, and the status and body, so neither
 * can be swapped under it. A squatter on the port (serve down) has no key: whatever it answers
 * lacks a valid proof. A different context string keeps the two proofs from standing in for each other.
 */
import crypto from 'node:crypto';
import * as z from 'zod/mini';
import { PROFILE_NAME_RE } from '#shared/schemas/profile.js';
import { profileNameSchema } from '#shared/schemas/profile.js';

export const CLIENT_KEY_PREFIX = 'atk_';
/** 32 random bytes, base64url without padding: 43 characters. */
const CLIENT_KEY_RE = /^atk_[A-Za-z0-9_-]{43}$/;
export const clientKeySchema = z.string().check(z.regex(CLIENT_KEY_RE));
export const clientNameSchema = profileNameSchema;

export const AUTH_SCHEME = 'AnafToken';
export const PROOF_CONTEXT = 'anaf-token-v1';
export const SERVER_PROOF_CONTEXT = 'anaf-token-v1-server';
export const SERVER_PROOF_HEADER = 'AnafToken-Server-Proof';
/** What a 401 says, so that a client knows where to get a nonce. */
export const WWW_AUTHENTICATE = `${AUTH_SCHEME} challenge="/v1/challenge"`;

export function newClientKey(): string {
  return CLIENT_KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
}

/** What the proof is an HMAC of. */
export function proofMessage(nonce: string, host: string): string {
  return `${PROOF_CONTEXT}\n${nonce}\n${host}`;
}

/** The proof as a client computes it: the key's own characters are the HMAC key. */
export function proofFor(key: string | Buffer | crypto.KeyObject, nonce: string, host: string): Buffer {
  return crypto.createHmac('sha256', key).update(proofMessage(nonce, host)).digest();
}

/** The whole header, as the documentation shows it (tests, benchmark); `cnonce` asks for the server's proof. */
export function authorizationFor(client: string, key: string, nonce: string, host: string, cnonce?: string): string {
  const asks = cnonce === undefined ? '' : `, cnonce="${cnonce}"`;
  return `${AUTH_SCHEME} client="${client}", nonce="${nonce}", proof="${proofFor(key, nonce, host).toString('base64url')}"${asks}`;
}

/** What the server's proof of an answer is an HMAC of. */
export function serverProofMessage(cnonce: string, nonce: string, host: string, status: number, body: string | Buffer): string {
  const digest = crypto.hash('sha256', body, 'hex'); // one call, no Hash object: it runs for every vouched answer
  return `${SERVER_PROOF_CONTEXT}\n${cnonce}\n${nonce}\n${host}\n${status}\n${digest}`;
}

/** The AnafToken-Server-Proof value for an answer (base64url, no padding). */
export function serverProofFor(key: string | Buffer, v: { cnonce: string; nonce: string; host: string }, status: number, body: string | Buffer): string {
  return crypto
    .createHmac('sha256', key)
    .update(serverProofMessage(v.cnonce, v.nonce, v.host, status, body))
    .digest('base64url');
}

export type ParsedAuthorization =
  | { kind: 'none' }
  /** The old way: the key itself, refused with advice on the new one. */
  | { kind: 'bearer' }
  /** Another scheme, or AnafToken with missing, repeated or ill-formed parameters. */
  | { kind: 'malformed' }
  /** `cnonce`: the ERP asks for the server's proof over it. */
  | { kind: 'proof'; client: string; nonce: string; proof: Buffer; cnonce?: string };

const NONCE_RE = /^[A-Za-z0-9_-]{43}$/;
/** The ERP's own nonce: 12 to 48 random bytes in base64url (16 random bytes make 22 characters). */
export const CNONCE_RE = /^[A-Za-z0-9_-]{16,64}$/;
/** 32 bytes in base64url (or plain base64, with or without its padding: a client's encoder may give either). */
const PROOF_RE = /^[A-Za-z0-9_+/-]{43}=?$/;
/** One `name="value"` (or `name=value`) and the comma after it. */
const PARAM_RE = /[ \t]*([A-Za-z]+)[ \t]*=[ \t]*(?:"([^"\\]*)"|([A-Za-z0-9._~+/=-]+))[ \t]*(?:,|$)/y;

export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header === '') return { kind: 'none' };
  if (header.length > 512) return { kind: 'malformed' };
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (/^bearer$/i.test(scheme)) return { kind: 'bearer' };
  if (scheme.toLowerCase() !== 'anaftoken' || space < 0) return { kind: 'malformed' };
  const params = new Map<string, string>();
  const rest = header.slice(space + 1);
  PARAM_RE.lastIndex = 0;
  while (PARAM_RE.lastIndex < rest.length) {
    const m = PARAM_RE.exec(rest);
    if (!m) return { kind: 'malformed' };
    const name = m[1]!.toLowerCase();
    if (params.has(name)) return { kind: 'malformed' };
    params.set(name, m[2] ?? m[3]!);
  }
  const client = params.get('client');
  const nonce = params.get('nonce');
  const proof = params.get('proof');
  const cnonce = params.get('cnonce');
  if (cnonce !== undefined && !CNONCE_RE.test(cnonce)) return { kind: 'malformed' };
  if (client === undefined || !PROFILE_NAME_RE.test(client) || nonce === undefined || !NONCE_RE.test(nonce) || proof === undefined || !PROOF_RE.test(proof)) {
    return { kind: 'malformed' };
  }
  const bytes = Buffer.from(proof.replace(/\+/g, '-').replace(/\//g, '_').replace(/=$/, ''), 'base64url');
  if (bytes.length !== 32) return { kind: 'malformed' };
  return cnonce === undefined ? { kind: 'proof', client, nonce, proof: bytes } : { kind: 'proof', client, nonce, proof: bytes, cnonce };
}

/** A key no client has: an unknown client's proof is checked against it, so it takes the same time. */
const NOBODY = crypto.randomBytes(32);

/** Whether `proof` is the HMAC of the nonce and Host under `key`, compared in constant time. */
export function proofMatches(key: Buffer | undefined, nonce: string, host: string, proof: Buffer): boolean {
  const expected = proofFor(key ?? NOBODY, nonce, host);
  return crypto.timingSafeEqual(expected, proof) && key !== undefined;
}
