/**
 * The protocol steps against ANAF's OAuth server, each a function: build the authorize URL,
 * exchange a code, refresh, revoke. oauth4webapi does the HTTP and validates every answer;
 * `anaf-answers.ts` turns its failures into our typed errors, in ANAF's dialect.
 */
import * as oauth from 'oauth4webapi';
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import { oauthEndpoints } from './endpoints.js';
import { jwtExpiry } from './token-claims.js';
import { anafFetch, describeRefusal, anafFailure } from './anaf-answers.js';
import type { TokenSet } from '../store/records.js';
import type { Store } from '../store/store.js';

const DAY_MS = 86_400_000;
/** ANAF's documented lifetimes (p.29, p.33), used only when neither the JWT nor the answer says. */
export const ACCESS_TOKEN_FALLBACK_LIFETIME_MS = 90 * DAY_MS;
export const REFRESH_TOKEN_FALLBACK_LIFETIME_MS = 365 * DAY_MS;
const DEFAULT_TIMEOUT_MS = 30_000;

/** How the client id and secret reach ANAF: its PDF documents HTTP Basic; the form body works too. */
export type ClientAuthMethod = 'basic' | 'post';

export interface ClientOptions {
  timeoutMs?: number;
  now?: () => number;
  /** The method that worked last for this profile, and where to remember a different one. */
  clientAuth?: { preferred: ClientAuthMethod | undefined; remember: (m: ClientAuthMethod) => unknown };
}

function server(profile: Profile): oauth.AuthorizationServer {
  const e = oauthEndpoints(profile.env);
  return { issuer: e.issuer, authorization_endpoint: e.authorize, token_endpoint: e.token, revocation_endpoint: e.revoke };
}

export function authorizationUrl(profile: Profile, state: string): string {
  const u = new URL(oauthEndpoints(profile.env).authorize);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', profile.clientId);
  u.searchParams.set('redirect_uri', profile.redirectUri);
  // Without it ANAF may still hand out a legacy opaque token.
  u.searchParams.set('token_content_type', 'jwt');
  u.searchParams.set('state', state);
  return u.toString();
}

function requestOptions(opts: ClientOptions) {
  return {
    signal: () => AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    additionalParameters: { token_content_type: 'jwt' },
    [oauth.customFetch]: anafFetch,
  };
}

/** The profile's remembered client authentication, learnt again when ANAF's answer changes. */
export async function clientAuthOf(
  store: Pick<Store, 'clientAuthMethod' | 'setClientAuthMethod'>,
  name: string,
): Promise<NonNullable<ClientOptions['clientAuth']>> {
  return { preferred: await store.clientAuthMethod(name), remember: (m) => store.setClientAuthMethod(name, m) };
}

const clientAuthentication = (m: ClientAuthMethod, secret: string): oauth.ClientAuth =>
  m === 'basic' ? oauth.ClientSecretBasic(secret) : oauth.ClientSecretPost(secret);

/**
 * Runs a token-endpoint step with the profile's client authentication. Basic first (ANAF's
 * documented way) unless the form body is what worked before; on `invalid_client` the other
 * method is tried once, and the one that worked is remembered. ANAF checks the client before
 * it looks at the code or refresh token, so the retry spends neither.
 */
async function withClientAuth<T>(opts: ClientOptions, step: 'exchange' | 'refresh', run: (m: ClientAuthMethod) => Promise<T>): Promise<T> {
  const preferred = opts.clientAuth?.preferred;
  const order: ClientAuthMethod[] = preferred === 'post' ? ['post', 'basic'] : ['basic', 'post'];
  let first: AppError | undefined;
  for (const m of order) {
    try {
      const result = await run(m);
      if (m !== preferred) await opts.clientAuth?.remember(m);
      return result;
    } catch (e) {
      const err = await anafFailure(e, step);
      if (err.code !== 'INVALID_CLIENT') throw err;
      first ??= err;
    }
  }
  throw first!;
}

/** The stored shape of a token answer; expiry from the JWT, else `expires_in`, else ANAF's documented lifetimes. */
export function tokenSet(r: oauth.TokenEndpointResponse, now: number, authorizedAt: number, previousRefreshExpiry?: number): TokenSet {
  const accessExpiresAt =
    jwtExpiry(r.access_token) ?? (typeof r.expires_in === 'number' && r.expires_in > 0 ? now + r.expires_in * 1000 : now + ACCESS_TOKEN_FALLBACK_LIFETIME_MS);
  const refreshToken = typeof r.refresh_token === 'string' ? r.refresh_token : undefined;
  // ANAF does not say how long a refresh token lives: a JWT says it itself, otherwise count from authorization.
  const refreshExpiresAt = refreshToken ? (jwtExpiry(refreshToken) ?? previousRefreshExpiry ?? authorizedAt + REFRESH_TOKEN_FALLBACK_LIFETIME_MS) : undefined;
  return { accessToken: r.access_token, refreshToken, accessExpiresAt, refreshExpiresAt };
}

function client(profile: Profile): oauth.Client {
  return { client_id: profile.clientId };
}

export async function exchangeCode(profile: Profile, clientSecret: string, callbackParams: URLSearchParams, opts: ClientOptions = {}): Promise<TokenSet> {
  const now = opts.now ?? Date.now;
  const as = server(profile);
  let params: URLSearchParams;
  try {
    // The caller checked `state` against the vault's pending authorizations (shared by all host
    // processes); this call only vets the rest of the callback and brands it for the exchange.
    params = oauth.validateAuthResponse(as, client(profile), callbackParams, oauth.skipStateCheck);
  } catch (e) {
    throw await anafFailure(e, 'exchange');
  }
  const body = await withClientAuth(opts, 'exchange', async (m) => {
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client(profile),
      clientAuthentication(m, clientSecret),
      params,
      profile.redirectUri,
      oauth.nopkce,
      requestOptions(opts),
    );
    return oauth.processAuthorizationCodeResponse(as, client(profile), res);
  });
  const t = now();
  return tokenSet(body, t, t);
}

export async function refreshTokens(
  profile: Profile,
  clientSecret: string,
  refreshToken: string,
  previous: { authorizedAt: number; refreshExpiresAt: number | undefined },
  opts: ClientOptions = {},
): Promise<TokenSet> {
  const now = opts.now ?? Date.now;
  const as = server(profile);
  const body = await withClientAuth(opts, 'refresh', async (m) => {
    const res = await oauth.refreshTokenGrantRequest(as, client(profile), clientAuthentication(m, clientSecret), refreshToken, requestOptions(opts));
    return oauth.processRefreshTokenResponse(as, client(profile), res);
  });
  const set = tokenSet(body, now(), previous.authorizedAt, previous.refreshExpiresAt);
  // No rotation in the answer: the old refresh token stays the one to use.
  return set.refreshToken ? set : { ...set, refreshToken, refreshExpiresAt: previous.refreshExpiresAt };
}

/** What ANAF said to a revocation: only an RFC 7009 200 confirms it. */
export interface RevokeAnswer {
  confirmed: boolean;
  /** Why it is not confirmed, safe to show (no token, no secret). */
  detail?: string;
}

/**
 * One revocation request. ANAF's endpoint has been seen answering 302 to its login wall, so
 * any answer but 200 is reported, not thrown: the caller forgets the tokens either way.
 */
export async function revokeToken(
  profile: Profile,
  clientSecret: string,
  token: string,
  hint: 'access_token' | 'refresh_token',
  opts: ClientOptions = {},
): Promise<RevokeAnswer> {
  try {
    const method = opts.clientAuth?.preferred ?? 'basic';
    const res = await oauth.revocationRequest(server(profile), client(profile), clientAuthentication(method, clientSecret), token, {
      signal: () => AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      additionalParameters: { token_type_hint: hint },
      [oauth.customFetch]: anafFetch,
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      return {
        confirmed: false,
        detail: `ANAF answered ${res.status} (a redirect to ${describeRefusal(res)}): it offers no revocation without a browser login`,
      };
    }
    await oauth.processRevocationResponse(res);
    return { confirmed: true };
  } catch (e) {
    const err = await anafFailure(e, 'revoke');
    return { confirmed: false, detail: `${err.code}${err.detail ? `: ${err.detail}` : ''}` };
  }
}
