/**
 * ANAF's answers to the token and revoke endpoints, read in ANAF's own dialect (see
 * ../shared/anaf-facts.md): a dead grant is not reliably `invalid_grant`, a 401 may carry
 * `WWW-Authenticate`, rate limits come as a JSON 429, and an F5 firewall may answer HTTP 200
 * with an HTML page. Each becomes one of our typed errors, with no token or secret in its text.
 */
import * as oauth from 'oauth4webapi';
import { AppError } from '#shared/errors.js';

export type Step = 'exchange' | 'refresh' | 'revoke';

/** Answers that mean "this code / refresh token is no good": authorize again (or start again). */
const DEAD_GRANT_ERRORS = new Set(['invalid_grant', 'invalid_request', 'access_denied', 'expired_token']);
const DEAD_GRANT_TEXT = /refresh token status|expired|revoked|invalid (refresh )?token/i;
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client']);
const RATE_ERRORS = new Set(['too_many_requests', 'slow_down', 'temporarily_unavailable']);
/** The F5 web application firewall's page, sent with HTTP 200 in place of ANAF's answer (OAuth and API alike). */
export const FIREWALL_PAGE = /The requested URL was rejected/i;

/** Printable and short; a long run of token characters (an echoed token or code) is cut out. */
export const safeText = (s: unknown, max = 200): string | undefined =>
  typeof s === 'string' && s
    ? s
        .replace(/[^\p{L}\p{N}\p{P}\p{Zs}]/gu, ' ')
        .replace(/[A-Za-z0-9_\-.~+/=]{32,}/g, '…')
        .slice(0, max)
    : undefined;

/** Where a redirect points, without its query (which could carry anything). */
export function describeRefusal(res: Response): string {
  const loc = res.headers.get('location');
  if (!loc) return 'nowhere';
  try {
    return safeText(new URL(loc, res.url || 'https://logincert.anaf.ro').pathname, 100) ?? 'a login page';
  } catch {
    return 'a login page';
  }
}

/** ANAF's OAuth error (JSON, or only a 401 with a challenge) as our error for this step. */
export function oauthRefusal(step: Step, status: number, error: string | undefined, description: string | undefined): AppError {
  const desc = safeText(description);
  const detail = `${step}: ANAF answered ${status}${error ? ` ${safeText(error, 64)}` : ''}${desc ? `: ${desc}` : ''}`;
  if (status === 429 || (error !== undefined && RATE_ERRORS.has(error))) return new AppError('ANAF_UNAVAILABLE', detail);
  if (status >= 500) return new AppError('ANAF_UNAVAILABLE', detail);
  // RFC 6749 keeps 401 for a failed client authentication, whatever the body says.
  if (status === 401 || (error !== undefined && CLIENT_ERRORS.has(error))) return new AppError('INVALID_CLIENT', detail);
  if ((error !== undefined && DEAD_GRANT_ERRORS.has(error)) || (desc !== undefined && DEAD_GRANT_TEXT.test(desc))) {
    if (step === 'refresh') return new AppError('TOKEN_DEAD', detail);
    if (step === 'exchange') return new AppError('INVALID_GRANT', detail);
  }
  return new AppError('AUTHORIZATION_FAILED', detail);
}

/** Answers that were the firewall's page; oauth4webapi reads a body before it looks at its type. */
const firewallPages = new WeakSet<Response>();

/** Looks at an HTML answer before oauth4webapi consumes it, to tell ANAF's firewall from ANAF. */
export async function inspectAnswer(res: Response): Promise<Response> {
  if (res.status === 200 && /text\/html/i.test(res.headers.get('content-type') ?? '') && FIREWALL_PAGE.test(await peekText(res))) firewallPages.add(res);
  return res;
}

/** fetch for oauth4webapi's `customFetch`: the same request, its answer inspected. */
export const anafFetch = async (url: string, init: RequestInit): Promise<Response> => inspectAnswer(await fetch(url, init));

async function peekText(res: Response, max = 4096): Promise<string> {
  try {
    return res.bodyUsed ? '' : (await res.clone().text()).slice(0, max);
  } catch {
    return '';
  }
}

async function jsonError(res: Response): Promise<{ error?: string; error_description?: string }> {
  try {
    const v: unknown = JSON.parse(await peekText(res));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return {
        error: typeof o.error === 'string' ? o.error : undefined,
        error_description: typeof o.error_description === 'string' ? o.error_description : undefined,
      };
    }
  } catch {
    /* not JSON: the status alone tells */
  }
  return {};
}

/** Turns anything oauth4webapi or fetch threw into an AppError that is safe to show and log. */
export async function anafFailure(e: unknown, step: Step): Promise<AppError> {
  if (e instanceof AppError) return e;
  if (e instanceof oauth.ResponseBodyError) return oauthRefusal(step, e.status, e.error, e.error_description);
  if (e instanceof oauth.WWWAuthenticateChallengeError) {
    const body = await jsonError(e.response);
    const challenged = e.cause.find((c) => typeof c.parameters.error === 'string')?.parameters;
    return oauthRefusal(step, e.status, body.error ?? challenged?.error, body.error_description ?? challenged?.error_description);
  }
  if (e instanceof oauth.OperationProcessingError) {
    const res = e.cause instanceof Response ? e.cause : undefined;
    const status = res?.status;
    if (res && firewallPages.has(res)) {
      return new AppError('ANAF_BAD_RESPONSE', `${step}: ANAF's firewall rejected the request ("The requested URL was rejected")`);
    }
    // Any other 4xx is a refusal, JSON or not (a 403 page, a 404 for a wrong server): asking
    // again gets the same answer. A 408 is only slow.
    if (res && status !== undefined && status >= 400 && status < 500 && status !== 408) {
      const body = await jsonError(res);
      return oauthRefusal(step, status, body.error, body.error_description);
    }
    if (status !== undefined && status >= 500) return new AppError('ANAF_UNAVAILABLE', `${step}: ANAF answered HTTP ${status}`);
    if (res && status !== undefined && status >= 300 && status < 400) {
      return new AppError('ANAF_BAD_RESPONSE', `${step}: ANAF answered ${status}, a redirect to ${describeRefusal(res)}`);
    }
    return new AppError('ANAF_BAD_RESPONSE', `${step}: ${e.code ?? 'unexpected answer'}${status ? ` (HTTP ${status})` : ''}`);
  }
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new AppError('ANAF_UNAVAILABLE', `${step}: no answer from ANAF in time`);
  }
  if (e instanceof TypeError) {
    // fetch() failed: DNS, refused, reset, TLS. The cause names the system error.
    const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
    const what = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : e.message;
    return new AppError('ANAF_UNAVAILABLE', `${step}: ${what}`);
  }
  return new AppError('INTERNAL', `${step}: ${e instanceof Error ? e.name : 'unknown failure'}`);
}
