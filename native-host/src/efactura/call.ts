/**
 * What every call to ANAF's API needs: where (the profile's endpoints), with which access
 * token, and how (timeout, CA); plus the checks on what we are about to send, made before
 * anything leaves this computer (a refused argument costs no call from ANAF's daily limits).
 */
import { AppError } from '#shared/errors.js';
import { httpFailure } from './answers.js';
import type { ApiEndpoints } from './endpoints.js';
import { send, type WireAnswer, type WireOptions, type WireRequest } from './wire.js';

export interface ApiCall {
  endpoints: ApiEndpoints;
  /** Goes into the Authorization header and nowhere else. */
  accessToken: string;
  wire?: WireOptions;
}

/** validare and transformare need no token. */
export interface PublicCall {
  endpoints: Pick<ApiEndpoints, 'publicEfactura'>;
  wire?: WireOptions;
}

/** ANAF's upload limit ("max 5 MB"), read as 5,000,000 bytes: the stricter of its two readings. */
export const MAX_UPLOAD_BYTES = 5_000_000;
/** XML headers (upload, stareMesaj) and small JSON answers. */
export const SMALL_ANSWER_MAX = 256 * 1024;
/** A list of up to 500 messages (e-Factura) or 60 days of notifications (e-Transport). */
export const LIST_ANSWER_MAX = 16 * 1024 * 1024;
/** A downloaded ZIP or a PDF: a 5 MB invoice, ANAF's signature, some margin. */
export const FILE_ANSWER_MAX = 32 * 1024 * 1024;

/** One exchange; anything but ANAF's own 200 answer is thrown as its typed error. */
export async function exchange(
  wire: WireOptions | undefined,
  r: Omit<WireRequest, 'headers'> & { accessToken?: string; contentType?: string; accept: string },
): Promise<WireAnswer> {
  const headers: Record<string, string> = { accept: r.accept };
  if (r.accessToken !== undefined) headers.authorization = `Bearer ${r.accessToken}`;
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  const answer = await send({ method: r.method, url: r.url, body: r.body, maxAnswerBytes: r.maxAnswerBytes, what: r.what, headers }, wire);
  const failure = httpFailure(answer, r.what);
  if (failure) throw failure;
  return answer;
}

export function url(base: string, path: string, query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return `${base}/${path}${s ? `?${s}` : ''}`;
}

/** A CIF as ANAF's API wants it: digits only ("RO" and spaces dropped), 2 to 13 of them (a CNP has 13). */
export function normalizeCif(cif: string): string {
  const digits = cif.trim().replace(/^RO\s*/i, '');
  if (!/^\d{2,13}$/.test(digits)) throw new AppError('BAD_REQUEST', 'a CIF is 2 to 13 digits, optionally after "RO"');
  return digits;
}

/** ANAF's ids (index_incarcare, id_descarcare) are decimal numbers. */
export function checkId(id: string, name: string): string {
  if (!/^\d{1,20}$/.test(id)) throw new AppError('BAD_REQUEST', `${name} is a number given by ANAF (digits only)`);
  return id;
}

export function checkDocument(xml: Uint8Array | string): Uint8Array {
  const bytes = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
  if (bytes.byteLength === 0) throw new AppError('BAD_REQUEST', 'the file is empty');
  if (bytes.byteLength > MAX_UPLOAD_BYTES) throw new AppError('ANAF_API_FILE_TOO_LARGE', `${bytes.byteLength} bytes, at most ${MAX_UPLOAD_BYTES}`);
  return bytes;
}
