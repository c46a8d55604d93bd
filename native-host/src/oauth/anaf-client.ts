/**
 * The protocol steps against ANAF's OAuth server, each a function: build the authorize URL,
 * exchange a code, refresh, revoke. oauth4webapi does the HTTP and validates every answer;
 * here its failures become our typed errors, with no token or secret in their text.
 */
import * as oauth from 'oauth4webapi';
import { AppError } from '../../../shared/src/errors.js';
import type { Profile } from '../../../shared/src/schemas/profile.js';
import { oauthEndpoints } from './endpoints.js';
import { jwtExpiry } from './token-claims.js';
import type { TokenSet } from '../vault/vault.js';

export const REFRESH_TOKEN_FALLBACK_LIFETIME_MS = 365 * 86_400_000;
const DEFAULT_TIMEOUT_MS = 30_000;

export interface ClientOptions {
  timeoutMs?: number;
  now?: () => number;
}

function server(profile: Profile): oauth.AuthorizationServer {
  const e = oauthEndpoints(profile.env);
  return { issuer: e.issuer, authorization_endpoint: e.authorize, token_endpoint: e.token, revocation_endpoint: e.revoke };
}

/** ANAF's own parameter: ask for JWT tokens (opaque ones ended in 2024). */
const JWT_PARAMS = { token_content_type: 'jwt' };

export function authorizationUrl(profile: Profile, state: string): string {
  const u = new URL(oauthEndpoints(profile.env).authorize);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', profile.clientId);
  u.searchParams.set('redirect_uri', profile.redirectUri);
  u.searchParams.set('token_content_type', 'jwt');
  u.searchParams.set('state', state);
  return u.toString();
}

function requestOptions(opts: ClientOptions) {
  return {
    signal: () => AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    additionalParameters: JWT_PARAMS,
  };
}

/** Turns anything oauth4webapi or fetch threw into an AppError that is safe to show and log. */
export function toAppError(e: unknown, step: 'exchange' | 'refresh' | 'revoke'): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof oauth.ResponseBodyError) {
    const detail = `${step}: ANAF answered ${e.status} ${e.error}`;
    if (e.error === 'invalid_client') return new AppError('INVALID_CLIENT', detail);
    if (e.error === 'invalid_grant') return new AppError(step === 'exchange' ? 'INVALID_GRANT' : 'TOKEN_DEAD', detail);
    if (e.status >= 500) return new AppError('ANAF_UNAVAILABLE', detail);
    return new AppError('AUTHORIZATION_FAILED', detail);
  }
  if (e instanceof oauth.OperationProcessingError) {
    const status = e.cause instanceof Response ? e.cause.status : undefined;
    if (status !== undefined && (status >= 500 || status === 429)) {
      return new AppError('ANAF_UNAVAILABLE', `${step}: ANAF answered HTTP ${status}`);
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

function tokenSet(r: oauth.TokenEndpointResponse, now: number, authorizedAt: number, previousRefreshExpiry?: number): TokenSet {
  const accessExpiresAt = jwtExpiry(r.access_token) ?? (typeof r.expires_in === 'number' ? now + r.expires_in * 1000 : now);
  const refreshToken = typeof r.refresh_token === 'string' ? r.refresh_token : undefined;
  // ANAF does not say how long a refresh token lives: a JWT says it itself, otherwise count from authorization.
  const refreshExpiresAt = refreshToken
    ? (jwtExpiry(refreshToken) ?? previousRefreshExpiry ?? authorizedAt + REFRESH_TOKEN_FALLBACK_LIFETIME_MS)
    : undefined;
  return { accessToken: r.access_token, refreshToken, accessExpiresAt, refreshExpiresAt };
}

function client(profile: Profile): oauth.Client {
  return { client_id: profile.clientId };
}

export async function exchangeCode(
  profile: Profile,
  clientSecret: string,
  callbackParams: URLSearchParams,
  opts: ClientOptions = {},
): Promise<TokenSet> {
  const now = opts.now ?? Date.now;
  try {
    const as = server(profile);
    // The caller checked `state` against the vault's pending authorizations (shared by all host
    // processes); this call only vets the rest of the callback and brands it for the exchange.
    const params = oauth.validateAuthResponse(as, client(profile), callbackParams, oauth.skipStateCheck);
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client(profile),
      oauth.ClientSecretPost(clientSecret),
      params,
      profile.redirectUri,
      oauth.nopkce,
      requestOptions(opts),
    );
    const body = await oauth.processAuthorizationCodeResponse(as, client(profile), res);
    const t = now();
    return tokenSet(body, t, t);
  } catch (e) {
    throw toAppError(e, 'exchange');
  }
}

export async function refreshTokens(
  profile: Profile,
  clientSecret: string,
  refreshToken: string,
  previous: { authorizedAt: number; refreshExpiresAt: number | undefined },
  opts: ClientOptions = {},
): Promise<TokenSet> {
  const now = opts.now ?? Date.now;
  try {
    const as = server(profile);
    const res = await oauth.refreshTokenGrantRequest(
      as,
      client(profile),
      oauth.ClientSecretPost(clientSecret),
      refreshToken,
      requestOptions(opts),
    );
    const body = await oauth.processRefreshTokenResponse(as, client(profile), res);
    const set = tokenSet(body, now(), previous.authorizedAt, previous.refreshExpiresAt);
    // No rotation in the answer: the old refresh token stays the one to use.
    return set.refreshToken ? set : { ...set, refreshToken, refreshExpiresAt: previous.refreshExpiresAt };
  } catch (e) {
    throw toAppError(e, 'refresh');
  }
}

export async function revokeToken(
  profile: Profile,
  clientSecret: string,
  token: string,
  hint: 'access_token' | 'refresh_token',
  opts: ClientOptions = {},
): Promise<void> {
  try {
    const res = await oauth.revocationRequest(server(profile), client(profile), oauth.ClientSecretPost(clientSecret), token, {
      signal: () => AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      additionalParameters: { token_type_hint: hint },
    });
    await oauth.processRevocationResponse(res);
  } catch (e) {
    throw toAppError(e, 'revoke');
  }
}
