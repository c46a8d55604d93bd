/**
 * The request handler of `serve`: guards first (Host, Origin, rate limit, client key), then one
 * function per endpoint. Every answer is JSON; every failure is an AppError with its HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AppError } from '../../../shared/src/errors.js';
import { PROFILE_NAME_RE } from '../../../shared/src/schemas/profile.js';
import type { TokenStatus } from '../../../shared/src/schemas/token-status.js';
import { withoutPersonalId } from '../../../shared/src/personal-id.js';
import type { Logger } from '../log/logger.js';
import type { TokenDeps } from '../tokens/refresh.js';
import { tokenStatus } from '../tokens/status.js';
import { HOST_VERSION } from '../version.js';
import type { AccessLog } from './access-log.js';
import type { HealthResponse, ProfilesResponse, TokenResponse } from './api.js';
import { bearerKey, clientForKey } from './client-keys.js';
import { apiHeaders, checkHeaders, type ApiHeaders } from './guards.js';
import { errorBody, httpStatusFor, toAppError } from './http-errors.js';
import type { FailureLimiter } from './rate-limit.js';
import type { TokenGrant, TokenSource } from './token-source.js';

export interface RouteContext {
  deps: TokenDeps;
  source: TokenSource;
  limiter: FailureLimiter;
  accessLog: AccessLog;
  log: Logger;
  /** Known once the server listens (the port may have been chosen by the OS). */
  hosts: () => ReadonlySet<string>;
}

/** Profiles per page of the list answer. */
const LIST_PAGE = 64;

/** The API takes no request bodies; anything larger than this is cut off. */
const MAX_BODY_BYTES = 4096;

const BASE_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A JSON answer serialized once and sent as long as it holds (a busy profile's token). */
class JsonText {
  /** Headers for a 200 with this body, built once: the hot path sends the same answer many times. */
  readonly okHeaders: Readonly<Record<string, string>>;
  constructor(readonly text: string) {
    this.okHeaders = { ...BASE_HEADERS, 'Content-Length': String(Buffer.byteLength(text)) };
  }
}

class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = NO_HEADERS,
  ) {}
}

/**
 * A `{ "<key>": [ ... ] }` answer written in slices as the client reads it: with thousands of
 * profiles, one big string and all the status objects at once would set the service's memory.
 */
class ListBody {
  constructor(
    readonly key: string,
    /** The next page of items, empty at the end; read only when the client took the previous one. */
    readonly nextPage: () => unknown[],
  ) {}
}

/** Waits until the client has taken what was written, or went away. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

async function sendList(res: ServerResponse, status: number, list: ListBody): Promise<void> {
  res.writeHead(status, BASE_HEADERS);
  let ok = res.write(`{${JSON.stringify(list.key)}:[`);
  let first = true;
  while (!res.destroyed) {
    if (!ok) await drained(res);
    if (res.destroyed) return;
    const page = list.nextPage();
    if (page.length === 0) break;
    ok = res.write((first ? '' : ',') + page.map((item) => JSON.stringify(item)).join(','));
    first = false;
  }
  res.end(']}');
}

function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return;
  if (r.body instanceof JsonText && r.status === 200 && r.headers === NO_HEADERS) {
    res.writeHead(200, r.body.okHeaders);
    res.end(r.body.text);
    return;
  }
  if (r.body instanceof ListBody) {
    void sendList(res, r.status, r.body).catch(() => res.destroy());
    return;
  }
  const text = r.body instanceof JsonText ? r.body.text : JSON.stringify(r.body);
  const headers: Record<string, string> = { ...BASE_HEADERS, 'Content-Length': String(Buffer.byteLength(text)) };
  for (const k in r.headers) headers[k] = r.headers[k]!;
  res.writeHead(r.status, headers);
  res.end(text);
}

function failure(e: unknown, headers: Record<string, string> = {}): Reply {
  const err = toAppError(e);
  return new Reply(httpStatusFor(err.code), errorBody(err), headers);
}

/** What an ERP client sees of a status: the personal ID number only when the user allowed it. */
function forClient(s: TokenStatus, personalId: boolean): TokenStatus {
  const subject = s.certificate?.subject;
  if (personalId || subject === undefined) return s;
  return { ...s, certificate: { ...s.certificate, subject: withoutPersonalId(subject) } };
}

function tokenBody(g: TokenGrant): TokenResponse {
  return { profile: g.profile, accessToken: g.accessToken, expiresAt: new Date(g.expiresAt).toISOString(), tokenType: 'Bearer' };
}

/** Each grant is serialized once: the token service hands the same one out until the vault changes. */
const grantReplies = new WeakMap<TokenGrant, Reply>();

function tokenReply(g: TokenGrant): Reply {
  let reply = grantReplies.get(g);
  if (reply === undefined) {
    reply = new Reply(200, new JsonText(JSON.stringify(tokenBody(g))));
    grantReplies.set(g, reply);
  }
  return reply;
}

/** An ERP's token request as it comes, already canonical: no URL parsing needed. */
const PLAIN_TOKEN_PATH = /^\/v1\/profiles\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\/token$/;

type Route =
  | { kind: 'health' }
  | { kind: 'profiles' }
  | { kind: 'token' | 'refresh'; profile: string }
  | { kind: 'bad-method'; allow: string }
  | { kind: 'not-found' };

export function matchRoute(method: string, rawUrl: string): Route {
  // The common case first: a plain path that WHATWG URL parsing would leave as it is.
  const plain = PLAIN_TOKEN_PATH.exec(rawUrl);
  if (plain) return method === 'GET' ? { kind: 'token', profile: plain[1]! } : { kind: 'bad-method', allow: 'GET' };
  let pathname: string;
  try {
    pathname = new URL(rawUrl, 'http://127.0.0.1').pathname;
  } catch {
    return { kind: 'not-found' };
  }
  const want = (allow: string, ok: Route): Route => (method === allow ? ok : { kind: 'bad-method', allow });
  if (pathname === '/healthz') return want('GET', { kind: 'health' });
  if (pathname === '/v1/profiles') return want('GET', { kind: 'profiles' });
  const m = /^\/v1\/profiles\/([^/]+)\/(token|refresh)$/.exec(pathname);
  if (!m) return { kind: 'not-found' };
  let profile: string;
  try {
    profile = decodeURIComponent(m[1]!);
  } catch {
    return { kind: 'not-found' };
  }
  return m[2] === 'token' ? want('GET', { kind: 'token', profile }) : want('POST', { kind: 'refresh', profile });
}

/** Synchronous where it can be (a token that needs nothing done); a promise where it waits for a refresh. */
function route(ctx: RouteContext, req: IncomingMessage, client: string): Reply | Promise<Reply> {
  const r = matchRoute(req.method ?? 'GET', req.url ?? '/');
  switch (r.kind) {
    case 'health':
      return new Reply(200, { status: 'ok', version: HOST_VERSION } satisfies HealthResponse);
    case 'profiles': {
      const { vault } = ctx.deps;
      const now = (ctx.deps.now ?? Date.now)();
      const personalId = vault.apiClientCredentials().some((c) => c.name === client && c.personalId);
      let after: string | undefined;
      // Same shape as ProfilesResponse, read and written a page at a time.
      return new Reply(
        200,
        new ListBody('profiles' satisfies keyof ProfilesResponse, () => {
          const page = vault.profilePage(after, LIST_PAGE);
          after = page.at(-1)?.profile.name;
          return page.map((p) => forClient(tokenStatus(p.profile, p.token, now), personalId));
        }),
      );
    }
    case 'token':
    case 'refresh': {
      // A name that cannot be a profile cannot exist either.
      if (!PROFILE_NAME_RE.test(r.profile)) throw new AppError('PROFILE_NOT_FOUND', r.profile.slice(0, 64));
      const hot = r.kind === 'token' ? ctx.source.hotToken(r.profile) : undefined;
      if (hot !== undefined) {
        ctx.accessLog.served(client, r.profile, 'token');
        return tokenReply(hot);
      }
      return grant(ctx, r.kind, r.profile, client);
    }
    case 'bad-method':
      return new Reply(405, errorBody(new AppError('BAD_REQUEST', `method ${req.method ?? ''} not allowed here`)), { Allow: r.allow });
    case 'not-found':
      return failure(new AppError('API_ROUTE_NOT_FOUND'));
  }
}

/**
 * The client a kept connection last proved to be, by the exact Authorization header it sent: an
 * ERP sends the same one with every request, and hashing it each time was a large part of a
 * request's cost. Only that connection's own header is compared (so its timing tells the peer
 * nothing it did not send), and only while the vault is unchanged (a removed key ends it at
 * once) and for at most a minute (when "last used" is written again).
 */
const proven = new WeakMap<Socket, { header: string; client: string; epoch: number; at: number }>();
const PROVEN_MS = 60_000;

function clientOf(ctx: RouteContext, req: IncomingMessage, header: string | undefined): string | undefined {
  const now = (ctx.deps.now ?? Date.now)();
  const epoch = ctx.deps.vault.readEpoch();
  const known = proven.get(req.socket);
  if (known !== undefined && known.header === header && known.epoch === epoch && now - known.at < PROVEN_MS) return known.client;
  const key = bearerKey(header);
  const client = key === undefined ? undefined : clientForKey(ctx.deps.vault, key, now);
  if (client === undefined || header === undefined) proven.delete(req.socket);
  // The epoch after the check: clientForKey may have written "last used".
  else proven.set(req.socket, { header, client, epoch: ctx.deps.vault.readEpoch(), at: now });
  return client;
}

async function grant(ctx: RouteContext, kind: 'token' | 'refresh', profile: string, client: string): Promise<Reply> {
  try {
    // POST …/refresh follows the same rule as GET …/token (tokens/due.ts): it refreshes only when a
    // refresh can help, else it hands out the current token, so an ERP asking in a loop cannot
    // become a loop of refreshes at ANAF.
    const g = await ctx.source.token(profile);
    ctx.accessLog.served(client, profile, kind);
    return tokenReply(g);
  } catch (e) {
    const retry = ctx.source.retryAfterSeconds(profile);
    const err = toAppError(e);
    return failure(err, httpStatusFor(err.code) === 503 && retry !== undefined ? { 'Retry-After': String(retry) } : {});
  }
}

function answer(ctx: RouteContext, req: IncomingMessage, headers: ApiHeaders): Reply | Promise<Reply> {
  const refused = checkHeaders(headers, ctx.hosts());
  if (refused) {
    ctx.log.log('warn', 'serve.refused', { code: refused.code, detail: refused.detail });
    return failure(refused);
  }
  const remote = req.socket.remoteAddress ?? 'unknown';
  const blockedMs = ctx.limiter.blockedFor(remote);
  if (blockedMs > 0) return failure(new AppError('RATE_LIMITED'), { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
  const client = clientOf(ctx, req, headers.authorization);
  if (client === undefined) {
    const blocked = ctx.limiter.fail(remote);
    ctx.log.log('warn', 'serve.auth-failed', { remote, reason: bearerKey(headers.authorization) === undefined ? 'no key' : 'wrong key', blocked: blocked || undefined });
    return failure(new AppError('API_KEY_INVALID'), { 'WWW-Authenticate': 'Bearer realm="anaf-token"' });
  }
  return route(ctx, req, client);
}

/**
 * The API takes no bodies: one announced as too large is cut off at once, one sent without a
 * length once it is. (No 'error' listener: Node emits a request's errors only to listeners.)
 */
function limitBody(req: IncomingMessage, headers: ApiHeaders): void {
  const length = headers['content-length'];
  if (length === undefined && headers['transfer-encoding'] === undefined) return;
  if (length !== undefined && Number(length) > MAX_BODY_BYTES) {
    req.destroy();
    return;
  }
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) req.destroy();
  });
}

export function requestHandler(ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  const internal = (e: unknown): Reply => {
    if (!(e instanceof AppError)) ctx.log.log('error', 'serve.internal', { error: e instanceof Error ? e.name : 'unknown' });
    return failure(e);
  };
  return (req, res) => {
    const headers = apiHeaders(req.rawHeaders);
    limitBody(req, headers);
    if (req.destroyed) return;
    let r: Reply | Promise<Reply>;
    try {
      r = answer(ctx, req, headers);
    } catch (e) {
      r = internal(e);
    }
    if (r instanceof Reply) send(res, r);
    else void r.catch(internal).then((x) => send(res, x));
  };
}
