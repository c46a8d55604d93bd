// A real HTTPS stand-in for ANAF's OAuth server (logincert.anaf.ro) plus its token test
// endpoint, bound to loopback only. Same paths, client-certificate check on authorize,
// rotating refresh tokens, JWTs, and switchable faults for resilience tests. By default it
// speaks ANAF's own dialect (RS512 tokens with ANAF's claims, invalid_request for stale
// grants, revoke behind an F5 login wall); dialect 'rfc' keeps the RFC 6749/7009 behaviour.
// It never logs: tests scan logs for the secrets it issues.
import { X509Certificate, createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Pki } from '../pki/make-pki.js';
import {
  ANAF_KID,
  DEAD_REFRESH_DESCRIPTION,
  INVALID_CLIENT_CHALLENGE,
  LOGIN_WALL_PATH,
  STALE_CODE_DESCRIPTION,
  jwtAlg,
  redirectMismatchDescription,
  tokenClaims,
  tokenIssuer,
  type CertBinding,
  type Dialect,
} from './dialect.js';
import { issuerCommonName, randomToken, serialColonHex, signJwt, signingKey, verifyJwt, type JwtAlg } from './jwt.js';
import { mountApi, type ApiStandin, type BearerState } from './efactura-api.js';
import {
  ACCESS_DENIED_PAGE,
  LOGIN_WALL_PAGE,
  METHOD_NOT_ALLOWED_PAGE,
  NOT_FOUND_PAGE,
  REDIRECT_MISMATCH_PAGE,
  SERVER_ERROR_PAGE,
  TOO_LARGE_PAGE,
  UNKNOWN_CLIENT_PAGE,
  faultPage,
  wafPage,
} from './pages.js';

export { certSerialColonHex } from './jwt.js';
export type { ApiEndpoint, ApiFaults, ApiOptionsPatch, ApiStandin } from './efactura-api.js';
export type { Dialect } from './dialect.js';

export interface StandinClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface StandinOptions {
  pki: Pki;
  clients: StandinClient[];
  /** Must be a loopback address or 'localhost'. Default '127.0.0.1'. */
  host?: string;
  port?: number;
  accessTokenTtlSec?: number;
  refreshTokenTtlSec?: number;
  codeTtlSec?: number;
  /** When set, a certificate whose CN is not listed gets error=access_denied (not enrolled in SPV). */
  enrolledSubjects?: string[];
  /** Simulate ANAF not echoing state on the redirect. */
  omitState?: boolean;
  refreshTokenFormat?: 'jwt' | 'opaque';
  /** false: a rotated refresh token keeps the authorization-time expiry; true: now + refreshTokenTtlSec. */
  refreshRotationExtends?: boolean;
  /** Default 'anaf': ANAF's real answers. 'rfc': the RFC-shaped behaviour of earlier versions. */
  dialect?: Dialect;
  /** anaf dialect: the error for an unknown, used, revoked or expired refresh token. Default 'invalid_request'. */
  deadGrantError?: 'invalid_request' | 'invalid_grant';
  /** Client authentication methods the token endpoint accepts. Default 'both'. */
  clientAuth?: 'basic' | 'post' | 'both';
  /** Whether a 401 invalid_client carries WWW-Authenticate: Basic. Default true. */
  invalidClientChallenge?: boolean;
  /** An access token never outlives its refresh token. Default: true in 'anaf', false in 'rfc'. */
  capAccessAtRefreshEnd?: boolean;
  /**
   * Cache-Control of the authorize redirect (the 302 that carries the code). Default 'no-store';
   * null sends none (ANAF's headers here are not documented), for what the browser then caches.
   */
  authorizeCacheControl?: string | null;
  /** The next authorize answer carries this code (one issued before) instead of a new one: a replay. */
  replayCode?: string;
}

export type Endpoint = 'authorize' | 'token' | 'revoke' | 'hello';

export interface Faults {
  delayMs?: number;
  status?: number;
  malformedJson?: boolean;
  dropConnection?: boolean;
  /** HTTP 200 text/html "The requested URL was rejected" page of ANAF's F5 WAF. */
  waf?: boolean;
  /** HTTP 429 JSON too_many_requests with Retry-After: 60 (ANAF allows 1000 calls a minute). */
  rateLimit?: boolean;
  /** Default ['token', 'revoke']. */
  endpoints?: Endpoint[];
  /** How many matching requests the fault applies to, then it clears itself. Default unlimited. */
  times?: number;
  /**
   * Extension: process the request for real (codes/refresh tokens ARE consumed), then lose or
   * spoil the answer. Models "ANAF rotated the refresh token but the response never arrived".
   */
  afterProcessing?: boolean;
}

export type MutableStandinOptions = Partial<
  Pick<
    StandinOptions,
    | 'enrolledSubjects'
    | 'omitState'
    | 'refreshTokenFormat'
    | 'refreshRotationExtends'
    | 'accessTokenTtlSec'
    | 'refreshTokenTtlSec'
    | 'codeTtlSec'
    | 'dialect'
    | 'deadGrantError'
    | 'clientAuth'
    | 'invalidClientChallenge'
    | 'capAccessAtRefreshEnd'
    | 'authorizeCacheControl'
    | 'replayCode'
  >
>;

export interface AnafStandin {
  url: string;
  counters: {
    requests: Record<Endpoint, number>;
    grants: { authorization_code: number; refresh_token: number };
  };
  issued: { codes: string[]; accessTokens: string[]; refreshTokens: string[] };
  setFaults(f: Faults): void;
  clearFaults(): void;
  setOptions(o: MutableStandinOptions): void;
  advanceClock(seconds: number): void;
  resetCounters(): void;
  /** The signing key's public half; its alg follows the current dialect (RS512 or RS256). */
  readonly publicJwk: JsonWebKey;
  /** e-Factura and e-Transport under /prod and /test (efactura-api.ts): knobs, faults, counters. */
  readonly api: ApiStandin;
  close(): Promise<void>;
}

export const ANAF_PATHS: Record<Endpoint, string> = {
  authorize: '/anaf-oauth2/v1/authorize',
  token: '/anaf-oauth2/v1/token',
  revoke: '/anaf-oauth2/v1/revoke',
  hello: '/TestOauth/jaxrs/hello',
};

const DAY = 24 * 3600;
const BODY_LIMIT = 64 * 1024;
const ENDPOINT_BY_PATH = new Map<string, Endpoint>((Object.entries(ANAF_PATHS) as [Endpoint, string][]).map(([e, p]) => [p, e]));
const METHOD_OF: Record<Endpoint, string> = { authorize: 'GET', token: 'POST', revoke: 'POST', hello: 'GET' };
// One constant so that revoke and an unknown path answer the very same bytes, as on ANAF.
const LOGIN_WALL_REDIRECT: Reply = Object.freeze({
  status: 302,
  headers: Object.freeze({ Location: LOGIN_WALL_PATH, 'Cache-Control': 'no-cache, must-revalidate' }),
  body: '',
});

interface CodeRecord {
  clientId: string;
  redirectUri: string;
  cert: CertBinding;
  issuedAtMs: number;
  expiresAtMs: number;
  used: boolean;
}

interface Grant {
  clientId: string;
  cert: CertBinding;
  authTimeSec: number;
}

interface RefreshRecord {
  grant: Grant;
  expSec: number;
  state: 'live' | 'used' | 'revoked';
}

interface AccessRecord {
  clientId: string;
  revoked: boolean;
  expSec: number;
  cert: CertBinding;
  // What it was issued with: a dialect switch must not change how an issued token verifies.
  alg: JwtAlg;
  issuer: string;
  dialect: Dialect;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

class BodyTooLarge extends Error {}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function html(status: number, body: string, extra: Record<string, string> = {}): Reply {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8', ...extra }, body };
}

function json(status: number, value: unknown, extra: Record<string, string> = {}): Reply {
  return {
    status,
    headers: {
      'Content-Type': 'application/json;charset=UTF-8',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      ...extra,
    },
    body: JSON.stringify(value),
  };
}

function oauthError(status: number, error: string, description: string, extra: Record<string, string> = {}): Reply {
  return json(status, { error, error_description: description }, extra);
}

// Compare via fixed-length digests so neither length nor content leaks through timing.
function secretEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

// application/x-www-form-urlencoded decoding as RFC 6749 2.3.1 asks for Basic credentials.
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

type BasicCreds = { id: string; secret: string }[];

/** undefined: no Basic header; 'malformed': present but unusable; else candidate pairs (decoded first, then raw). */
function parseBasic(header: string | undefined): BasicCreds | 'malformed' | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m?.[1]) return /^Basic(\s|$)/i.test(header) ? 'malformed' : undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return 'malformed';
  const rawId = text.slice(0, colon);
  const rawSecret = text.slice(colon + 1);
  const out: BasicCreds = [];
  const id = formDecode(rawId);
  const secret = formDecode(rawSecret);
  if (id !== undefined && secret !== undefined) out.push({ id, secret });
  // Many clients do not url-encode; accept the raw form too.
  if (!out.some((c) => c.id === rawId && c.secret === rawSecret)) out.push({ id: rawId, secret: rawSecret });
  return out;
}

function certBinding(raw: Buffer): CertBinding {
  const x = new X509Certificate(raw);
  const rdns = x.subject.split('\n');
  const cnLine = rdns.find((l) => l.startsWith('CN='));
  return {
    subject: [...rdns].reverse().join(','),
    commonName: cnLine ? cnLine.slice(3) : '',
    serialHex: x.serialNumber.toUpperCase(),
    serialColon: serialColonHex(x.serialNumber),
    issuerCommonName: issuerCommonName(x),
    x5tS256: createHash('sha256').update(raw).digest('base64url'),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    let tooLarge = Number.isFinite(declared) && declared > BODY_LIMIT;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) tooLarge = true;
      // Keep draining so the client can read the 413 instead of seeing a reset.
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) reject(new BodyTooLarge());
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

export async function startAnafStandin(opts: StandinOptions): Promise<AnafStandin> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`ANAF stand-in binds to loopback only, not ${host}`);

  const cfg = {
    accessTokenTtlSec: opts.accessTokenTtlSec ?? 90 * DAY,
    refreshTokenTtlSec: opts.refreshTokenTtlSec ?? 365 * DAY,
    codeTtlSec: opts.codeTtlSec ?? 60,
    enrolledSubjects: opts.enrolledSubjects,
    omitState: opts.omitState ?? false,
    refreshTokenFormat: opts.refreshTokenFormat ?? 'jwt',
    refreshRotationExtends: opts.refreshRotationExtends ?? false,
    dialect: opts.dialect ?? 'anaf',
    deadGrantError: opts.deadGrantError ?? 'invalid_request',
    clientAuth: opts.clientAuth ?? 'both',
    invalidClientChallenge: opts.invalidClientChallenge ?? true,
    // undefined: follow the dialect, so switching dialect with setOptions brings its default along.
    capAccessAtRefreshEnd: opts.capAccessAtRefreshEnd,
    authorizeCacheControl: opts.authorizeCacheControl === undefined ? 'no-store' : opts.authorizeCacheControl,
    replayCode: opts.replayCode,
  };
  const clients = new Map(opts.clients.map((c) => [c.clientId, { ...c, redirectUris: [...c.redirectUris] }]));
  const capAccess = (): boolean => cfg.capAccessAtRefreshEnd ?? cfg.dialect === 'anaf';

  const key = await signingKey();

  let clockOffsetMs = 0;
  const nowMs = (): number => Date.now() + clockOffsetMs;
  const nowSec = (): number => Math.floor(nowMs() / 1000);

  const counters: AnafStandin['counters'] = {
    requests: { authorize: 0, token: 0, revoke: 0, hello: 0 },
    grants: { authorization_code: 0, refresh_token: 0 },
  };
  const issued: AnafStandin['issued'] = { codes: [], accessTokens: [], refreshTokens: [] };
  const codes = new Map<string, CodeRecord>();
  const refreshTokens = new Map<string, RefreshRecord>();
  const accessTokens = new Map<string, AccessRecord>();

  let faults: Faults | undefined;
  const pendingTimers = new Set<NodeJS.Timeout>();
  let url = '';

  // The API accepts the access tokens issued here, as long as they live.
  const bearerState = (token: string | undefined): BearerState => {
    if (!token) return 'missing';
    const rec = accessTokens.get(token);
    if (!rec) return 'unknown';
    if (rec.revoked) return 'revoked';
    return nowSec() >= rec.expSec ? 'expired' : 'ok';
  };
  const api = mountApi({ nowMs, bearer: bearerState, signingKey: key.privateKey, supportId: () => supportId() });

  function takeFault(endpoint: Endpoint): Faults | undefined {
    const f = faults;
    if (!f) return undefined;
    if (!(f.endpoints ?? ['token', 'revoke']).includes(endpoint)) return undefined;
    if (f.times !== undefined) {
      if (f.times <= 0) {
        faults = undefined;
        return undefined;
      }
      f.times -= 1;
      if (f.times === 0) faults = undefined;
    }
    return f;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        pendingTimers.delete(t);
        resolve();
      }, ms);
      pendingTimers.add(t);
    });
  }

  /** Returns true when the fault replaced the answer. */
  function answerWithFault(f: Faults, res: ServerResponse): boolean {
    if (f.dropConnection) {
      res.socket?.destroy();
      return true;
    }
    if (f.status !== undefined) {
      send(res, html(f.status, faultPage(f.status)));
      return true;
    }
    if (f.malformedJson) {
      send(res, {
        status: 200,
        headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store' },
        body: '{"access_token":"eyJhbGciOiJSUzI1NiJ9.trunc',
      });
      return true;
    }
    if (f.waf) {
      send(res, html(200, wafPage(supportId()), { 'Cache-Control': 'no-cache' }));
      return true;
    }
    if (f.rateLimit) {
      send(res, oauthError(429, 'too_many_requests', 'Limita de 1000 de apeluri pe minut a fost depasita', { 'Retry-After': '60' }));
      return true;
    }
    return false;
  }

  // F5 support IDs are long decimal numbers, different on every rejection.
  function supportId(): string {
    let id = String(randomInt(1, 10));
    while (id.length < 20) id += String(randomInt(0, 10));
    return id;
  }

  function send(res: ServerResponse, r: Reply): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(r.status, { ...r.headers, 'Content-Length': String(Buffer.byteLength(r.body)) });
    res.end(r.body);
  }

  async function issueTokens(grant: Grant, refreshExpSec: number): Promise<Reply> {
    const dialect = cfg.dialect;
    const alg = jwtAlg(dialect);
    const kid = dialect === 'anaf' ? ANAF_KID : key.rfcKid;
    const iat = nowSec();
    const accessExp = capAccess() ? Math.min(iat + cfg.accessTokenTtlSec, refreshExpSec) : iat + cfg.accessTokenTtlSec;
    const base = {
      clientId: grant.clientId,
      cert: grant.cert,
      authTimeSec: grant.authTimeSec,
      iat,
      standinUrl: url,
    };
    const accessToken = await signJwt(key, {
      alg,
      kid,
      claims: tokenClaims(dialect, { ...base, exp: accessExp, jti: randomToken(16), use: 'access' }),
    });
    const refreshToken =
      cfg.refreshTokenFormat === 'jwt'
        ? await signJwt(key, {
            alg,
            kid,
            claims: tokenClaims(dialect, { ...base, exp: refreshExpSec, jti: randomToken(16), use: 'refresh' }),
          })
        : randomToken(48);
    accessTokens.set(accessToken, {
      clientId: grant.clientId,
      revoked: false,
      expSec: accessExp,
      cert: grant.cert,
      alg,
      issuer: tokenIssuer(dialect, url),
      dialect,
    });
    refreshTokens.set(refreshToken, { grant, expSec: refreshExpSec, state: 'live' });
    issued.accessTokens.push(accessToken);
    issued.refreshTokens.push(refreshToken);
    return json(200, {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: Math.max(0, accessExp - iat),
      token_type: 'Bearer',
    });
  }

  function handleAuthorize(req: IncomingMessage, u: URL): Reply {
    const sock = req.socket as TLSSocket;
    const peer = sock.getPeerCertificate(false);
    // Like ANAF, a missing or untrusted (rogue, expired) certificate gets the access-denied page.
    if (!sock.authorized || !peer?.raw) return html(403, ACCESS_DENIED_PAGE);
    const q = u.searchParams;
    const client = clients.get(q.get('client_id') ?? '');
    if (!client) return html(400, UNKNOWN_CLIENT_PAGE);
    const redirectUri = q.get('redirect_uri');
    if (redirectUri === null || !client.redirectUris.includes(redirectUri)) return html(400, REDIRECT_MISMATCH_PAGE);
    const state = q.get('state');
    const redirect = (params: Record<string, string>): Reply => {
      const sp = new URLSearchParams(params);
      if (state !== null && !cfg.omitState) sp.set('state', state);
      const sep = redirectUri.includes('?') ? '&' : '?';
      const cache: Record<string, string> = cfg.authorizeCacheControl === null ? {} : { 'Cache-Control': cfg.authorizeCacheControl };
      return { status: 302, headers: { Location: redirectUri + sep + sp.toString(), ...cache }, body: '' };
    };
    if (q.get('response_type') !== 'code') {
      return redirect({ error: 'unsupported_response_type', error_description: 'response_type must be code' });
    }
    const cert = certBinding(peer.raw);
    if (cfg.enrolledSubjects && !cfg.enrolledSubjects.includes(cert.commonName)) {
      return redirect({
        error: 'access_denied',
        error_description: 'The certificate is not enrolled in SPV for a valid CIF',
      });
    }
    if (cfg.replayCode !== undefined) {
      const replayed = cfg.replayCode;
      cfg.replayCode = undefined;
      return redirect({ code: replayed });
    }
    const code = randomToken(32);
    const issuedAtMs = nowMs();
    codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      cert,
      issuedAtMs,
      expiresAtMs: issuedAtMs + cfg.codeTtlSec * 1000,
      used: false,
    });
    issued.codes.push(code);
    return redirect({ code });
  }

  type Authenticated = { client: StandinClient };

  function authenticateClient(req: IncomingMessage, form: URLSearchParams): Authenticated | Reply {
    // A method the server does not accept is ignored, so the client meets the same
    // invalid_client as for wrong credentials and can fall back to the other method.
    const basicAccepted = cfg.clientAuth !== 'post';
    const postAccepted = cfg.clientAuth !== 'basic';
    const sentBasic = parseBasic(req.headers.authorization);
    const sentSecret = form.get('client_secret');
    const basic = basicAccepted ? sentBasic : undefined;
    const formId = form.get('client_id');
    const formSecret = postAccepted ? sentSecret : null;
    const ignored = (!basicAccepted && sentBasic !== undefined) || (!postAccepted && sentSecret !== null);
    // RFC 6749 5.2 asks for the challenge when the client tried Basic (or sent nothing); the
    // rfc dialect keeps exactly that, the anaf dialect sends it on every invalid_client.
    const invalidClient = (description: string, basicOrNone: boolean): Reply =>
      oauthError(
        401,
        'invalid_client',
        description,
        cfg.invalidClientChallenge && (basicOrNone || cfg.dialect === 'anaf') ? { 'WWW-Authenticate': INVALID_CLIENT_CHALLENGE } : {},
      );
    if (basic === 'malformed') return invalidClient('Malformed Basic credentials', true);
    if (basic) {
      const agrees = basic.some((c) => (formId === null || c.id === formId) && (formSecret === null || c.secret === formSecret));
      if (!agrees) {
        return oauthError(400, 'invalid_request', 'Client credentials in the Authorization header and the body disagree');
      }
      for (const c of basic) {
        const client = clients.get(c.id);
        if (client && secretEquals(client.clientSecret, c.secret)) return { client };
      }
      return invalidClient('Client authentication failed', true);
    }
    if (formId === null && formSecret === null) {
      return invalidClient(ignored ? 'Client authentication failed' : 'Client authentication required', true);
    }
    if (formId === null) return oauthError(400, 'invalid_request', 'client_secret without client_id');
    const client = clients.get(formId);
    if (!client || formSecret === null || !secretEquals(client.clientSecret, formSecret)) {
      return invalidClient('Client authentication failed', false);
    }
    return { client };
  }

  function parseForm(req: IncomingMessage, body: string): URLSearchParams | Reply {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (ct !== 'application/x-www-form-urlencoded') {
      return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(body);
    const seen = new Set<string>();
    for (const k of form.keys()) {
      if (seen.has(k)) return oauthError(400, 'invalid_request', `Parameter ${k} repeated`);
      seen.add(k);
    }
    return form;
  }

  async function handleToken(req: IncomingMessage, body: string): Promise<Reply> {
    const form = parseForm(req, body);
    if (!(form instanceof URLSearchParams)) return form;
    const auth = authenticateClient(req, form);
    if (!('client' in auth)) return auth;
    const { client } = auth;
    const grantType = form.get('grant_type');
    if (!grantType) return oauthError(400, 'invalid_request', 'grant_type is required');

    const anaf = cfg.dialect === 'anaf';

    if (grantType === 'authorization_code') {
      const code = form.get('code');
      const redirectUri = form.get('redirect_uri');
      if (!code || redirectUri === null) return oauthError(400, 'invalid_request', 'code and redirect_uri are required');
      // ANAF answers invalid_request, not invalid_grant, for a code it will not honour.
      const badCode = (rfcDescription: string): Reply =>
        anaf ? oauthError(400, 'invalid_request', STALE_CODE_DESCRIPTION) : oauthError(400, 'invalid_grant', rfcDescription);
      const rec = codes.get(code);
      if (!rec) return badCode('Unknown authorization code');
      if (rec.used) return badCode('Authorization code already used');
      // One presentation per code, even a failed one: a client must exchange exactly once.
      rec.used = true;
      if (rec.clientId !== client.clientId) return badCode('Code was issued to another client');
      if (nowMs() >= rec.expiresAtMs) return badCode('Authorization code expired');
      if (redirectUri !== rec.redirectUri) {
        return anaf
          ? oauthError(400, 'invalid_request', redirectMismatchDescription(redirectUri))
          : oauthError(400, 'invalid_grant', 'redirect_uri does not match');
      }
      const authTimeSec = Math.floor(rec.issuedAtMs / 1000);
      return issueTokens({ clientId: client.clientId, cert: rec.cert, authTimeSec }, authTimeSec + cfg.refreshTokenTtlSec);
    }

    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token');
      if (!token) return oauthError(400, 'invalid_request', 'refresh_token is required');
      // ANAF (an F5 APM front) says "expired" for every refresh token it will not honour.
      const dead = (rfcDescription: string): Reply =>
        anaf ? oauthError(400, cfg.deadGrantError, DEAD_REFRESH_DESCRIPTION) : oauthError(400, 'invalid_grant', rfcDescription);
      const rec = refreshTokens.get(token);
      if (!rec) return dead('Unknown refresh token');
      if (rec.grant.clientId !== client.clientId) return dead('Refresh token of another client');
      if (rec.state === 'revoked') return dead('Refresh token revoked');
      if (rec.state === 'used') return dead('Refresh token already used');
      if (nowSec() >= rec.expSec) return dead('Refresh token expired');
      rec.state = 'used';
      const exp = cfg.refreshRotationExtends ? nowSec() + cfg.refreshTokenTtlSec : rec.expSec;
      return issueTokens(rec.grant, exp);
    }

    return oauthError(400, 'unsupported_grant_type', 'Only authorization_code and refresh_token are supported');
  }

  function handleRevoke(req: IncomingMessage, body: string): Reply {
    const form = parseForm(req, body);
    if (!(form instanceof URLSearchParams)) return form;
    const auth = authenticateClient(req, form);
    if (!('client' in auth)) return auth;
    const token = form.get('token') ?? form.get('access_token');
    if (!token) return oauthError(400, 'invalid_request', 'token is required');
    // RFC 7009: unknown tokens and other clients' tokens answer 200 and change nothing.
    const r = refreshTokens.get(token);
    if (r && r.grant.clientId === auth.client.clientId && r.state === 'live') r.state = 'revoked';
    const a = accessTokens.get(token);
    if (a && a.clientId === auth.client.clientId) a.revoked = true;
    return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: '' };
  }

  async function handleHello(req: IncomingMessage, u: URL): Promise<Reply> {
    const unauthorized = (): Reply => ({
      status: 401,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      body: 'Unauthorized',
    });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const token = m?.[1];
    if (!token) return unauthorized();
    // Only tokens this instance issued as access tokens count; refresh tokens look alike in anaf.
    const rec = accessTokens.get(token);
    if (!rec || rec.revoked || nowSec() >= rec.expSec) return unauthorized();
    const payload = await verifyJwt(key, token, { alg: rec.alg, issuer: rec.issuer, nowMs: nowMs() });
    if (!payload) return unauthorized();
    if (rec.dialect === 'rfc' && payload.token_use !== 'access') return unauthorized();
    const name = u.searchParams.get('name') ?? '';
    if (cfg.dialect === 'rfc') {
      return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `Hello ${name}` };
    }
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: helloEcho(req, name, rec) };
  }

  // ANAF's hello echoes the request as its API gateway forwards it: the client's headers plus
  // the ones the gateway derives from the token, the certificate serial among them. The bearer
  // token and cookies are left out so that the echo never carries a secret.
  function helloEcho(req: IncomingMessage, name: string, rec: AccessRecord): string {
    const lines = [`Hello ${name}`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const h = req.rawHeaders[i] ?? '';
      if (/^(authorization|cookie)$/i.test(h)) continue;
      lines.push(`${h.toLowerCase()}: ${req.rawHeaders[i + 1] ?? ''}`);
    }
    lines.push(`serial: ${rec.cert.serialColon}`);
    lines.push(`issuer: ${rec.cert.issuerCommonName}`);
    lines.push(`clientappid: ${rec.clientId}`);
    return lines.join('\n') + '\n';
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'https://standin.invalid');
    if (api.owns(u.pathname)) return api.handle(req, res, u);
    const endpoint = ENDPOINT_BY_PATH.get(u.pathname);
    if (!endpoint) {
      req.resume();
      if (cfg.dialect === 'rfc') send(res, html(404, NOT_FOUND_PAGE));
      else if (u.pathname === LOGIN_WALL_PATH) send(res, html(200, LOGIN_WALL_PAGE, { 'Cache-Control': 'no-cache' }));
      else send(res, LOGIN_WALL_REDIRECT);
      return;
    }
    counters.requests[endpoint] += 1;

    let body = '';
    if (req.method === 'POST') {
      try {
        body = await readBody(req);
      } catch (err) {
        if (err instanceof BodyTooLarge) send(res, html(413, TOO_LARGE_PAGE, { Connection: 'close' }));
        return;
      }
    } else {
      req.resume();
    }
    if (endpoint === 'token' && req.method === 'POST') {
      // Counted before faults so tests can see every attempt, answered or not.
      const gt = new URLSearchParams(body).get('grant_type');
      if (gt === 'authorization_code' || gt === 'refresh_token') counters.grants[gt] += 1;
    }

    const fault = takeFault(endpoint);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault && !fault.afterProcessing && answerWithFault(fault, res)) return;

    let reply: Reply;
    if (endpoint === 'revoke' && cfg.dialect === 'anaf') {
      // ANAF offers no headless revocation: whatever the method or credentials, the F5 front
      // sends the caller to its login wall, exactly as for a path that does not exist.
      reply = LOGIN_WALL_REDIRECT;
    } else if (req.method !== METHOD_OF[endpoint]) {
      reply = html(405, METHOD_NOT_ALLOWED_PAGE, { Allow: METHOD_OF[endpoint] });
    } else if (endpoint === 'authorize') {
      reply = handleAuthorize(req, u);
    } else if (endpoint === 'token') {
      reply = await handleToken(req, body);
    } else if (endpoint === 'revoke') {
      reply = handleRevoke(req, body);
    } else {
      reply = await handleHello(req, u);
    }

    if (fault && fault.afterProcessing && answerWithFault(fault, res)) return;
    send(res, reply);
  }

  const server = https.createServer(
    {
      key: opts.pki.server.keyPem,
      cert: opts.pki.server.certPem,
      ca: opts.pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      onRequest(req, res).catch(() => send(res, html(500, SERVER_ERROR_PAGE)));
    },
  );
  // Handshake failures are expected in tests (rogue clients, dropped sockets); stay silent.
  server.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    counters,
    issued,
    api,
    get publicJwk(): JsonWebKey {
      return { ...key.publicJwk, alg: jwtAlg(cfg.dialect) };
    },
    setFaults(f: Faults): void {
      faults = { ...f, endpoints: f.endpoints ? [...f.endpoints] : undefined };
    },
    clearFaults(): void {
      faults = undefined;
    },
    setOptions(o: MutableStandinOptions): void {
      for (const [k, v] of Object.entries(o) as [keyof MutableStandinOptions, unknown][]) {
        // undefined means "no restriction" for enrolledSubjects and "the dialect's default" for the cap.
        if (v !== undefined || k === 'enrolledSubjects' || k === 'capAccessAtRefreshEnd') Object.assign(cfg, { [k]: v });
      }
    },
    advanceClock(seconds: number): void {
      clockOffsetMs += seconds * 1000;
    },
    resetCounters(): void {
      for (const k of Object.keys(counters.requests) as Endpoint[]) counters.requests[k] = 0;
      counters.grants.authorization_code = 0;
      counters.grants.refresh_token = 0;
    },
    close(): Promise<void> {
      api.close();
      for (const t of pendingTimers) clearTimeout(t);
      pendingTimers.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
