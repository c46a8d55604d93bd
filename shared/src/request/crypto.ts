/**
 * The request's and the answer's cryptography, with WebCrypto only (Node's globalThis.crypto and
 * the extension's are the same API), so both sides run this one file.
 *
 *   link key K (32 random bytes, only in the link's fragment)
 *     mac key    = HKDF-SHA-256(K, info "anaf-token request mac v1")            → HMAC over the body
 *     secret key = HKDF-SHA-256(K [‖ PBKDF2(passphrase)], info "… secret v1")    → AES-256-GCM, AAD = id
 *   answer
 *     ECDH P-256 (holder's fresh key, requester's key from the link) → HKDF-SHA-256
 *     (salt = request id, info names both public keys) → AES-256-GCM, AAD = id, over the
 *     plaintext packed by answer-codec.ts (JWTs unfolded, deflated)
 * A wrong passphrase and a changed link are told apart: the MAC needs only K.
 */
import { AppError } from '../errors.js';
import { packAnswer, unpackAnswer } from './answer-codec.js';
import { concat, fromB64u, fromUtf8, randomBytes, sameBytes, toB64u, utf8 } from './bytes.js';
import {
  answerPlainSchema,
  decodeBody,
  encodeBody,
  splitAnswer,
  splitLink,
  joinAnswer,
  PASSPHRASE_MAX_LENGTH,
  PASSPHRASE_MIN_LENGTH,
  type AnswerPlain,
  type AnswerTokens,
  type LinkParts,
  type RequestBody,
} from './format.js';

export const PBKDF2_ITERATIONS = 310_000;
const EC = { name: 'ECDH', namedCurve: 'P-256' } as const;

const b = (text: string, what: string): Uint8Array<ArrayBuffer> => {
  const bytes = fromB64u(text);
  if (!bytes) throw new AppError('REQUEST_TAMPERED', `${what} does not read`);
  return bytes;
};

async function hkdf(ikm: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>, info: string, usage: 'hmac' | 'aes'): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  const params = { name: 'HKDF', hash: 'SHA-256', salt, info: utf8(info) };
  return usage === 'hmac'
    ? crypto.subtle.deriveKey(params, base, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign'])
    : crypto.subtle.deriveKey(params, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

async function pbkdf2(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey('raw', utf8(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256));
}

const macKey = (k: Uint8Array<ArrayBuffer>) => hkdf(k, new Uint8Array(0), 'anaf-token request mac v1', 'hmac');

async function secretKey(
  k: Uint8Array<ArrayBuffer>,
  pw: { passphrase: string; salt: Uint8Array<ArrayBuffer>; iterations: number } | undefined,
): Promise<CryptoKey> {
  if (!pw) return hkdf(k, new Uint8Array(0), 'anaf-token request secret v1', 'aes');
  return hkdf(concat(k, await pbkdf2(pw.passphrase, pw.salt, pw.iterations)), new Uint8Array(0), 'anaf-token request secret v1 passphrase', 'aes');
}

export function checkPassphrase(passphrase: string): void {
  const n = [...passphrase.normalize('NFC')].length;
  if (n < PASSPHRASE_MIN_LENGTH || n > PASSPHRASE_MAX_LENGTH) {
    throw new AppError('BAD_REQUEST', `the passphrase must have ${PASSPHRASE_MIN_LENGTH} to ${PASSPHRASE_MAX_LENGTH} characters`);
  }
}

export interface NewRequest {
  env: RequestBody['env'];
  clientId: string;
  redirectUri: string;
  clientSecret: string;
  expiresAt: number;
  note?: string | undefined;
  passphrase?: string | undefined;
}

/** What the requester keeps (privately) to open the answer later. */
export interface RequestKeys {
  id: string;
  state: string;
  /** The private half, as a JWK: stays in the requester's data folder until the request ends. */
  privateJwk: JsonWebKey;
  publicKey: string;
}

export async function createRequest(r: NewRequest): Promise<{ parts: LinkParts; keys: RequestKeys; body: RequestBody }> {
  if (r.passphrase !== undefined) checkPassphrase(r.passphrase);
  const pair = await crypto.subtle.generateKey(EC, true, ['deriveBits']);
  const publicKey = toB64u(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const id = toB64u(randomBytes(16));
  const state = toB64u(randomBytes(32));
  const k = randomBytes(32);
  const pw = r.passphrase === undefined ? undefined : { passphrase: r.passphrase, salt: randomBytes(16), iterations: PBKDF2_ITERATIONS };
  const iv = randomBytes(12);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(id) }, await secretKey(k, pw), utf8(r.clientSecret)));
  const body: RequestBody = {
    v: 1,
    id,
    env: r.env,
    cid: r.clientId,
    cb: r.redirectUri,
    st: state,
    exp: r.expiresAt,
    pk: publicKey,
    ...(r.note ? { by: r.note } : {}),
    ...(pw ? { pw: { s: toB64u(pw.salt), i: pw.iterations } } : {}),
    iv: toB64u(iv),
    ct: toB64u(ct),
  };
  const encoded = encodeBody(body);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await macKey(k), utf8(encoded)));
  return { parts: { body: encoded, mac: toB64u(mac), key: toB64u(k) }, keys: { id, state, privateJwk, publicKey }, body };
}

/** A request whose link was checked whole (MAC) and not expired; the secret still sealed. */
export interface CheckedRequest {
  body: RequestBody;
  key: Uint8Array<ArrayBuffer>;
  needsPassphrase: boolean;
}

/** The holder's first step: the link is whole, and still valid at `now`. */
export async function checkRequestLink(text: string, now: number): Promise<CheckedRequest> {
  const parts = splitLink(text);
  const key = b(parts.key, 'the link key');
  if (key.length !== 32) throw new AppError('REQUEST_TAMPERED', 'the link key does not read');
  const expected = new Uint8Array(await crypto.subtle.sign('HMAC', await macKey(key), utf8(parts.body)));
  if (!sameBytes(expected, b(parts.mac, 'the link seal'))) throw new AppError('REQUEST_TAMPERED', 'the link was changed');
  const body = decodeBody(parts.body);
  if (now >= body.exp) throw new AppError('REQUEST_EXPIRED', `expired ${new Date(body.exp).toISOString()}`);
  return { body, key, needsPassphrase: body.pw !== undefined };
}

/** The client secret, opened with the link key (and the passphrase the requester gave by phone). */
export async function openSecret(req: CheckedRequest, passphrase?: string): Promise<string> {
  const { body } = req;
  if (body.pw && !passphrase) throw new AppError('REQUEST_PASSPHRASE_WRONG', 'a passphrase is needed');
  const pw = body.pw && passphrase !== undefined ? { passphrase, salt: b(body.pw.s, 'the salt'), iterations: body.pw.i } : undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: b(body.iv, 'the iv'), additionalData: utf8(body.id) },
      await secretKey(req.key, pw),
      b(body.ct, 'the sealed secret'),
    );
    return fromUtf8(new Uint8Array(plain));
  } catch (e) {
    if (e instanceof AppError) throw e;
    // The MAC held, so the sealed secret is as made: only the passphrase can be wrong.
    throw body.pw ? new AppError('REQUEST_PASSPHRASE_WRONG') : new AppError('REQUEST_TAMPERED', 'the secret does not open');
  }
}

async function answerKey(priv: CryptoKey, pub: Uint8Array<ArrayBuffer>, id: string, requesterPk: string, holderPk: string): Promise<CryptoKey> {
  let peer: CryptoKey;
  try {
    peer = await crypto.subtle.importKey('raw', pub, EC, false, []);
  } catch {
    throw new AppError('REQUEST_TAMPERED', 'a public key does not read');
  }
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, priv, 256));
  return hkdf(shared, utf8(id), `anaf-token answer v1|${requesterPk}|${holderPk}`, 'aes');
}

/** The holder's last step: the tokens, sealed so that only the requester opens them. */
export async function sealAnswer(body: RequestBody, echoedState: string, tokens: AnswerTokens, at: number): Promise<string> {
  const pair = await crypto.subtle.generateKey(EC, true, ['deriveBits']);
  const epk = toB64u(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  const key = await answerKey(pair.privateKey, b(body.pk, "the requester's key"), body.id, body.pk, epk);
  const iv = randomBytes(12);
  const plain: AnswerPlain = { v: 1, id: body.id, st: echoedState, at, tok: tokens };
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(body.id) }, key, await packAnswer(plain)));
  return joinAnswer({ id: body.id, epk, iv: toB64u(iv), ct: toB64u(ct) });
}

/** The request id an answer names (before anything is opened: which pending request to look up). */
export function answerRequestId(text: string): string {
  return splitAnswer(text).id;
}

/** Opens an answer with the request's private key; any change to it, or another key, is "tampered". */
export async function openAnswer(text: string, keys: Pick<RequestKeys, 'id' | 'privateJwk' | 'publicKey'>): Promise<AnswerPlain> {
  const p = splitAnswer(text);
  if (p.id !== keys.id) throw new AppError('REQUEST_FOREIGN', 'the answer names another request');
  const priv = await crypto.subtle.importKey('jwk', keys.privateJwk, EC, false, ['deriveBits']);
  const key = await answerKey(priv, b(p.epk, "the holder's key"), p.id, keys.publicKey, p.epk);
  let plain: Uint8Array<ArrayBuffer>;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: b(p.iv, 'the iv'), additionalData: utf8(p.id) }, key, b(p.ct, 'the answer')));
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('REQUEST_TAMPERED', "the answer does not open with this request's key");
  }
  const json = await unpackAnswer(plain);
  const parsed = answerPlainSchema().safeParse(json);
  if (!parsed.success || parsed.data.id !== keys.id) throw new AppError('REQUEST_TAMPERED', 'the answer does not read');
  return parsed.data;
}
