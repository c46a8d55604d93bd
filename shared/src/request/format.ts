/**
 * The request link and the answer, as text: one definition for both sides (the CLI that makes
 * the request and imports the answer, the extension that answers it).
 *
 * Link:   chrome-extension://<extension id>/request.html#ar1.<body>.<mac>.<key>
 *   body  base64url of the request's JSON (RequestBody below: public parameters, the requester's
 *         ECDH P-256 public key, and the client secret sealed with AES-256-GCM);
 *   mac   HMAC-SHA-256 of `body` under a key derived from `key`: any change to the link is seen;
 *   key   32 random bytes: the secret's key (with the passphrase, when there is one). It is only
 *         ever in the fragment, which a browser never sends to any server.
 * Answer: ara1.<request id>.<holder's ephemeral public key>.<iv>.<ciphertext>
 *   the tokens, sealed with AES-256-GCM under ECDH(ephemeral, requester's key) → HKDF; only the
 *   requester's private key, which never left its data folder, opens it.
 */
import * as z from 'zod/mini';
import { AppError } from '../errors.js';
import { clientIdSchema, environmentSchema, redirectUriSchema } from '../schemas/profile.js';
import { fromB64u, fromUtf8, toB64u, utf8 } from './bytes.js';

export const LINK_PREFIX = 'ar1';
export const ANSWER_PREFIX = 'ara1';
export const REQUEST_PAGE = 'request.html';

/** Bounds on how long a request may stay open (the example is 5 hours). */
export const MIN_VALID_MS = 5 * 60_000;
export const MAX_VALID_MS = 72 * 3_600_000;
export const DEFAULT_VALID_MS = 5 * 3_600_000;
/** An answer made just before the expiry may take a little while to be carried back. */
export const IMPORT_GRACE_MS = 15 * 60_000;
export const NOTE_MAX_LENGTH = 200;
export const PASSPHRASE_MIN_LENGTH = 4;
export const PASSPHRASE_MAX_LENGTH = 128;

const b64u = (min: number, max: number) => z.string().check(z.regex(/^[A-Za-z0-9_-]+$/), z.minLength(min), z.maxLength(max));
export const requestIdSchema = () => b64u(22, 22);

/** What the link carries; short keys keep the link short. */
export const requestBodySchema = () =>
  z.object({
    v: z.literal(1),
    id: requestIdSchema(),
    env: environmentSchema(),
    cid: clientIdSchema(),
    cb: redirectUriSchema(),
    /** The `state` the authorize step sends; the answer echoes what ANAF gave back. */
    st: b64u(43, 43),
    /** Expiry, epoch milliseconds. */
    exp: z.int().check(z.positive()),
    /** The requester's ECDH P-256 public key, raw (uncompressed point). */
    pk: b64u(87, 87),
    /** Who asks and why, as the requester wrote it. */
    by: z.optional(z.string().check(z.maxLength(NOTE_MAX_LENGTH))),
    /** Present when the secret's key also needs the passphrase: PBKDF2 salt and iterations. */
    pw: z.optional(z.object({ s: b64u(22, 22), i: z.int().check(z.minimum(100_000), z.maximum(2_000_000)) })),
    iv: b64u(16, 16),
    ct: b64u(22, 1024),
  });
export type RequestBody = z.infer<ReturnType<typeof requestBodySchema>>;

/** The token endpoint's answer as it travels back (field names as ANAF sends them). */
export const answerTokensSchema = () =>
  z.object({
    access_token: z.string().check(z.minLength(1), z.maxLength(16_384)),
    refresh_token: z.optional(z.string().check(z.minLength(1), z.maxLength(16_384))),
    expires_in: z.optional(z.number()),
    token_type: z.optional(z.string().check(z.maxLength(64))),
  });
export type AnswerTokens = z.infer<ReturnType<typeof answerTokensSchema>>;

/** What the answer's ciphertext holds. */
export const answerPlainSchema = () =>
  z.object({
    v: z.literal(1),
    id: requestIdSchema(),
    /** The state ANAF echoed on the callback (the holder's page checked it equals the request's). */
    st: z.string().check(z.maxLength(128)),
    /** When the holder's browser got the tokens, epoch milliseconds. */
    at: z.int().check(z.positive()),
    tok: answerTokensSchema(),
  });
export type AnswerPlain = z.infer<ReturnType<typeof answerPlainSchema>>;

export interface LinkParts {
  body: string;
  mac: string;
  key: string;
}

const LINK_RE = new RegExp(`(?:^|[#\\s/])${LINK_PREFIX}\\.([A-Za-z0-9_-]{16,4096})\\.([A-Za-z0-9_-]{43})\\.([A-Za-z0-9_-]{43})(?![A-Za-z0-9_.-])`);

/** The link's three parts, from the link itself, its fragment, or text around it (a pasted mail). */
export function splitLink(text: string): LinkParts {
  const m = LINK_RE.exec(text.trim());
  if (!m) throw new AppError('REQUEST_TAMPERED', 'not a request link, or cut short');
  return { body: m[1]!, mac: m[2]!, key: m[3]! };
}

export function joinLink(extensionOrigin: string, parts: LinkParts): string {
  return `${extensionOrigin.replace(/\/+$/, '')}/${REQUEST_PAGE}#${fragmentOf(parts)}`;
}

export function fragmentOf(parts: LinkParts): string {
  return `${LINK_PREFIX}.${parts.body}.${parts.mac}.${parts.key}`;
}

export function encodeBody(body: RequestBody): string {
  return toB64u(utf8(JSON.stringify(body)));
}

/** The body as the link carries it; call only after its MAC was checked (else it is "tampered"). */
export function decodeBody(body: string): RequestBody {
  const bytes = fromB64u(body);
  let json: unknown;
  try {
    json = bytes ? JSON.parse(fromUtf8(bytes)) : undefined;
  } catch {
    json = undefined;
  }
  const parsed = requestBodySchema().safeParse(json);
  if (!parsed.success) throw new AppError('REQUEST_TAMPERED', 'the request does not read');
  return parsed.data;
}

export interface AnswerParts {
  id: string;
  epk: string;
  iv: string;
  ct: string;
}

const ANSWER_RE = new RegExp(
  `(?:^|\\s)${ANSWER_PREFIX}\\.([A-Za-z0-9_-]{22})\\.([A-Za-z0-9_-]{87})\\.([A-Za-z0-9_-]{16})\\.([A-Za-z0-9_-]{16,200000})(?=\\s|$)`,
);

/** The answer's parts, from the answer alone or text around it (a mail, a file with a line end). */
export function splitAnswer(text: string): AnswerParts {
  const m = ANSWER_RE.exec(text.trim());
  if (!m) throw new AppError('REQUEST_TAMPERED', 'not an answer, or cut short');
  return { id: m[1]!, epk: m[2]!, iv: m[3]!, ct: m[4]! };
}

export function joinAnswer(p: AnswerParts): string {
  return `${ANSWER_PREFIX}.${p.id}.${p.epk}.${p.iv}.${p.ct}`;
}
