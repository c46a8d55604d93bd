/**
 * The holder's browser exchanges ANAF's code itself (it lives 60 seconds: there is no time to
 * carry it back to the requester). Client authentication as ANAF documents it, HTTP Basic, and
 * the form body when ANAF answers invalid_client to that (as the native host does). No cookies
 * and no client certificate are sent (credentials: 'omit'). Pure fetch: unit-tested under Node.
 */
import { AppError } from '#shared/errors.js';
import { answerTokensSchema, type AnswerTokens, type RequestBody } from '#shared/request/format.js';
import { requestTokenEndpoint } from '#shared/request/oauth.js';

const TIMEOUT_MS = 30_000;
const MAX_ANSWER_CHARS = 64 * 1024;

/** Bounded, printable: ANAF's error text goes into a message the page shows. */
const safe = (v: unknown, max: number): string => (typeof v === 'string' ? v.replace(/[^\x20-\x7e\u00a0-\u024f]/g, ' ').slice(0, max) : '');

function basic(clientId: string, secret: string): string {
  // RFC 6749 2.3.1: each part form-urlencoded before Basic.
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${btoa(`${enc(clientId)}:${enc(secret)}`)}`;
}

export async function exchangeCode(body: RequestBody, secret: string, code: string, fetchFn: typeof fetch = fetch): Promise<AnswerTokens> {
  let refusal: AppError | undefined;
  for (const method of ['basic', 'post'] as const) {
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: body.cb, token_content_type: 'jwt' });
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    if (method === 'basic') headers.Authorization = basic(body.cid, secret);
    else {
      form.set('client_id', body.cid);
      form.set('client_secret', secret);
    }
    let res: Response;
    try {
      res = await fetchFn(requestTokenEndpoint(body.env), {
        method: 'POST',
        headers,
        body: form,
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw new AppError('ANAF_UNAVAILABLE', e instanceof Error ? e.name : undefined);
    }
    const text = (await res.text()).slice(0, MAX_ANSWER_CHARS);
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok && json) {
      const tokens = answerTokensSchema().safeParse(json);
      if (tokens.success) return tokens.data;
    }
    const error = safe(json?.error, 64) || `HTTP ${res.status}`;
    const description = safe(json?.error_description, 200);
    refusal = new AppError('REQUEST_ANAF_REFUSED', description ? `${error}: ${description}` : error);
    // Basic refused as a client error: try the form body once, as the native host does.
    if (!(method === 'basic' && (error === 'invalid_client' || res.status === 401))) break;
  }
  throw refusal!;
}
