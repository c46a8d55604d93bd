/**
 * "Does the token work right now?": one GET to ANAF's TestOauth hello with the stored access
 * token (see ../shared/anaf-facts.md). It never refreshes, never retries, and never writes to
 * the store: it only reports what ANAF said. The token goes into the Authorization header and
 * nowhere else: not into a result, a detail, an error or a log line.
 */
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import type { TokenCheck, TokenCheckResult } from '#shared/schemas/token-check.js';
import { redact, type Logger } from '../log/logger.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { FIREWALL_PAGE } from '../oauth/anaf-answers.js';
import type { Store } from '../store/store.js';

/** The CLI and the popup wait this long for ANAF unless ANAF_TOKEN_HTTP_TIMEOUT_MS says otherwise. */
export const DEFAULT_CHECK_TIMEOUT_MS = 15_000;
/** Enough of the body to recognise ANAF's firewall page; the rest is not read. */
const BODY_CAP = 16 * 1024;
const DETAIL_MAX = 500;

/** What came back from hello, as far as the verdict needs it. */
export interface HelloAnswer {
  status: number;
  wwwAuthenticate?: string | null | undefined;
  /** The first BODY_CAP bytes, decoded. */
  body: string;
}

export interface Verdict {
  result: TokenCheckResult;
  httpStatus?: number;
  detail?: string;
}

const SUPPORT_ID_RE = /support ID is:?\s*(\d{1,40})/i;

/** The `error` of a Bearer challenge (RFC 6750), e.g. invalid_token; only a plain word is quoted. */
function bearerError(header: string | null | undefined): string | undefined {
  const m = /\berror\s*=\s*"?([A-Za-z0-9_.-]{1,64})"?/.exec(header ?? '');
  return m?.[1];
}

/** The verdict on an HTTP answer from hello. Only 200 (and not the firewall page) means "works". */
export function classifyHelloAnswer(a: HelloAnswer): Verdict {
  const httpStatus = a.status;
  if (a.status === 200) {
    if (!FIREWALL_PAGE.test(a.body)) return { result: 'ok', httpStatus };
    const supportId = SUPPORT_ID_RE.exec(a.body)?.[1];
    return {
      result: 'unavailable',
      httpStatus,
      detail: `ANAF's firewall answered with its "The requested URL was rejected" page instead of the API${supportId ? ` (support ID ${supportId})` : ''}`,
    };
  }
  if (a.status === 401 || a.status === 403) {
    const error = bearerError(a.wwwAuthenticate);
    return { result: 'not-authorized', httpStatus, detail: `ANAF answered ${a.status}${error ? ` ${error}` : ''}` };
  }
  if (a.status === 429) return { result: 'unavailable', httpStatus, detail: 'ANAF answered 429 (too many requests)' };
  if (a.status >= 500) return { result: 'unavailable', httpStatus, detail: `ANAF answered HTTP ${a.status}` };
  if (a.status >= 300 && a.status < 400)
    return { result: 'unavailable', httpStatus, detail: `ANAF answered HTTP ${a.status} (a redirect, not the hello answer)` };
  // 404, 400, another 2xx: not an answer about the token.
  return { result: 'unavailable', httpStatus, detail: `ANAF answered HTTP ${a.status}, not the hello answer` };
}

/** The verdict when no HTTP answer came: timeout, DNS, refused, reset, TLS. */
export function classifyHelloFailure(e: unknown, timeoutMs: number): Verdict {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return { result: 'unavailable', detail: `no answer from ANAF in ${Math.round(timeoutMs / 1000)} s` };
  }
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const what =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : e instanceof Error ? e.message : 'unknown failure';
  return { result: 'unavailable', detail: `the request to ANAF failed: ${what}` };
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_CAP) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, BODY_CAP));
}

export interface HelloOptions {
  timeoutMs: number;
  /** For tests; the global fetch otherwise (it trusts NODE_EXTRA_CA_CERTS, as the stand-in needs). */
  fetch?: typeof globalThis.fetch;
}

/** One GET, no redirects followed (an Authorization header must not travel on), within the timeout. */
export async function callHello(profile: Profile, accessToken: string, opts: HelloOptions): Promise<Verdict> {
  const f = opts.fetch ?? globalThis.fetch;
  try {
    const res = await f(oauthEndpoints(profile.env).hello, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json, text/plain;q=0.9, */*;q=0.5' },
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const body = await readCapped(res);
    return classifyHelloAnswer({ status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body });
  } catch (e) {
    return classifyHelloFailure(e, opts.timeoutMs);
  }
}

export interface CheckDeps {
  store: Store;
  log: Logger;
  now?: () => number;
  client?: { timeoutMs?: number };
}

/** Checks the profile's stored access token with ANAF. Throws only when there is nothing to check. */
export async function checkToken(deps: CheckDeps, name: string, opts: { fetch?: typeof globalThis.fetch } = {}): Promise<TokenCheck> {
  const now = deps.now ?? Date.now;
  const profile = await deps.store.getProfile(name);
  // Opens only for the server it is about to be sent to (else PROFILE_ALTERED).
  const tokens = await deps.store.readTokens(profile);
  if (!tokens) throw new AppError('NO_TOKEN', name);
  const timeoutMs = deps.client?.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const started = now();
  const verdict = await callHello(profile, tokens.accessToken, { timeoutMs, ...opts });
  const detail = verdict.detail === undefined ? undefined : redact(verdict.detail).slice(0, DETAIL_MAX);
  const check: TokenCheck = {
    profile: name,
    result: verdict.result,
    ...(verdict.httpStatus !== undefined ? { httpStatus: verdict.httpStatus } : {}),
    checkedAt: new Date(started).toISOString(),
    ...(detail !== undefined ? { detail } : {}),
  };
  deps.log.log(check.result === 'ok' ? 'info' : 'warn', 'token.check', { profile: name, result: check.result, status: check.httpStatus, ms: now() - started });
  return check;
}

/** The error a failed check stands for (for exit codes and messages); none for `ok`. */
export function checkFailure(c: TokenCheck): AppError | undefined {
  if (c.result === 'ok') return undefined;
  return new AppError(c.result === 'not-authorized' ? 'TOKEN_NOT_AUTHORIZED' : 'ANAF_UNAVAILABLE', c.detail);
}
