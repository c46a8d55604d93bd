/**
 * The answer's plaintext, packed small enough for a QR code. ANAF's two JWTs are most of it, and
 * as base64url they are hard to compress; so each travels as its header and claims decoded (JSON,
 * much of it the same in both tokens) and its signature, and the whole is deflated (deflate-raw,
 * built into both Node and the browser). Unpacking gives back the very same token text: a JWT
 * whose parts would not re-encode to the same characters travels as it came.
 */
import { AppError } from '../errors.js';
import { fromB64u, fromUtf8, toB64u, utf8 } from './bytes.js';
import type { AnswerPlain } from './format.js';

/** Far above two JWTs of ANAF's (2-3 KB each): an answer that inflates past it is not one. */
const MAX_PLAIN_BYTES = 64 * 1024;

/** A JWT unfolded: header JSON, claims JSON, signature (base64url). */
type Unfolded = [string, string, string];

function unfold(jwt: string): string | Unfolded {
  const parts = jwt.split('.');
  if (parts.length !== 3) return jwt;
  const json: string[] = [];
  for (const part of parts.slice(0, 2)) {
    const bytes = fromB64u(part);
    let text: string;
    try {
      text = bytes ? fromUtf8(bytes) : '';
    } catch {
      return jwt;
    }
    if (!bytes || toB64u(utf8(text)) !== part) return jwt;
    json.push(text);
  }
  return [json[0]!, json[1]!, parts[2]!];
}

const fold = (t: Unfolded): string => `${toB64u(utf8(t[0]))}.${toB64u(utf8(t[1]))}.${t[2]}`;

async function through(bytes: Uint8Array<ArrayBuffer>, stream: CompressionStream | DecompressionStream, cap: number): Promise<Uint8Array<ArrayBuffer>> {
  const reader = new Blob([bytes]).stream().pipeThrough(stream).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > cap) {
      await reader.cancel();
      throw new AppError('REQUEST_TAMPERED', 'the answer inflates far beyond an answer');
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function packAnswer(plain: AnswerPlain): Promise<Uint8Array<ArrayBuffer>> {
  const tok = Object.fromEntries(Object.entries(plain.tok).map(([k, v]) => [k, typeof v === 'string' ? unfold(v) : v]));
  const bytes = utf8(JSON.stringify({ ...plain, tok }));
  // What the requester would refuse to inflate is not sealed at all (ANAF's answer was far too large).
  if (bytes.length > MAX_PLAIN_BYTES) throw new AppError('REQUEST_ANAF_REFUSED', "ANAF's answer is far larger than two tokens");
  return through(bytes, new CompressionStream('deflate-raw'), MAX_PLAIN_BYTES);
}

/** The plaintext's JSON value, tokens folded back; the caller checks it against answerPlainSchema. */
export async function unpackAnswer(packed: Uint8Array<ArrayBuffer>): Promise<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(await through(packed, new DecompressionStream('deflate-raw'), MAX_PLAIN_BYTES)));
  } catch (e) {
    if (e instanceof AppError) throw e;
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('tok' in value) || typeof value.tok !== 'object' || value.tok === null) return value;
  const isUnfolded = (v: unknown): v is Unfolded => Array.isArray(v) && v.length === 3 && v.every((p) => typeof p === 'string');
  const tok = Object.fromEntries(Object.entries(value.tok).map(([k, v]) => [k, isUnfolded(v) ? fold(v) : v]));
  return { ...value, tok };
}
