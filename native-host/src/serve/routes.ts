/**
 * The request handler of `serve`: guards first (Host, Origin, rate limit, client key), then one
 * function per endpoint. Every answer is JSON; every failure is an AppError with its HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../../../shared/src/errors.js';
import { profileNameSchema } from '../../../shared/src/schemas/profile.js';
import type { Logger } from '../log/logger.js';
import type { TokenDeps } from '../tokens/refresh.js';
import { tokenStatus } from '../tokens/status.js';
import { HOST_VERSION } from '../version.js';
import type { AccessLog } from './access-log.js';
import type { HealthResponse, ProfilesResponse, TokenResponse } from './api.js';
import { bearerKey, clientForKey } from './client-keys.js';
import { checkHeaders } from './guards.js';
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

/** The API takes no request bodies; anything larger than this is cut off. */
const MAX_BODY_BYTES = 4096;

class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/**
 * A `{ "<key>": [ ... ] }` answer written in slices as the client reads it: with thousands of
 * profiles, one big string and all the status objects at once would set the service's memory.
 */
class ListBody {
  constructor(
    readonly key: string,
    readonly count: number,
    readonly item: (i: number) => unknown,
  ) {}
}

const LIST_SLICE = 256;

async function sendList(res: ServerResponse, status: number, list: ListBody): Promise<void> {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  let ok = res.write(`{${JSON.stringify(list.key)}:[`);
  for (let i = 0; i < list.count && !res.destroyed; i += LIST_SLICE) {
    if (!ok) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    const end = Math.min(list.count, i + LIST_SLICE);
    const parts: string[] = [];
    for (let j = i; j < end; j++) parts.push(JSON.stringify(list.item(j)));
    ok = res.write((i > 0 ? ',' : '') + parts.join(','));
  }
  res.end(']}');
}

function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return;
  if (r.body instanceof ListBody) {
    void sendList(res, r.status, r.body).catch(() => res.destroy());
    return;
  }
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(Buffer.byteLength(text)),
    ...r.headers,
  });
  res.end(text);
}

function failure(e: unknown, headers: Record<string, string> = {}): Reply {
  const err = toAppError(e);
  return new Reply(httpStatusFor(err.code), errorBody(err), headers);
}

function tokenBody(g: TokenGrant): TokenResponse {
  return { profile: g.profile, accessToken: g.accessToken, expiresAt: new Date(g.expiresAt).toISOString(), tokenType: 'Bearer' };
}

type Route =
  | { kind: 'health' }
  | { kind: 'profiles' }
  | { kind: 'token' | 'refresh'; profile: string }
  | { kind: 'bad-method'; allow: string }
  | { kind: 'not-found' };

export function matchRoute(method: string, rawUrl: string): Route {
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

async function route(ctx: RouteContext, req: IncomingMessage, client: string): Promise<Reply> {
  const r = matchRoute(req.method ?? 'GET', req.url ?? '/');
  switch (r.kind) {
    case 'health':
      return new Reply(200, { status: 'ok', version: HOST_VERSION } satisfies HealthResponse);
    case 'profiles': {
      const { vault } = ctx.deps;
      const now = (ctx.deps.now ?? Date.now)();
      const tokens = vault.allTokens();
      const profiles = vault.listProfiles();
      // Same shape as ProfilesResponse, built one status at a time.
      return new Reply(200, new ListBody('profiles' satisfies keyof ProfilesResponse, profiles.length, (i) => tokenStatus(profiles[i]!, tokens.get(profiles[i]!.name), now)));
    }
    case 'token':
    case 'refresh': {
      // A name that cannot be a profile cannot exist either.
      if (!profileNameSchema.safeParse(r.profile).success) throw new AppError('PROFILE_NOT_FOUND', r.profile.slice(0, 64));
      try {
        const grant = r.kind === 'token' ? await ctx.source.token(r.profile) : await ctx.source.refreshNow(r.profile);
        ctx.accessLog.served(client, r.profile, r.kind);
        return new Reply(200, tokenBody(grant));
      } catch (e) {
        const retry = ctx.source.retryAfterSeconds(r.profile);
        const err = toAppError(e);
        return failure(err, httpStatusFor(err.code) === 503 && retry !== undefined ? { 'Retry-After': String(retry) } : {});
      }
    }
    case 'bad-method':
      return new Reply(405, errorBody(new AppError('BAD_REQUEST', `method ${req.method ?? ''} not allowed here`)), { Allow: r.allow });
    case 'not-found':
      return failure(new AppError('API_ROUTE_NOT_FOUND'));
  }
}

async function answer(ctx: RouteContext, req: IncomingMessage): Promise<Reply> {
  const refused = checkHeaders(req.headers, ctx.hosts());
  if (refused) {
    ctx.log.log('warn', 'serve.refused', { code: refused.code, detail: refused.detail });
    return failure(refused);
  }
  const remote = req.socket.remoteAddress ?? 'unknown';
  const blockedMs = ctx.limiter.blockedFor(remote);
  if (blockedMs > 0) return failure(new AppError('RATE_LIMITED'), { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
  const key = bearerKey(req.headers.authorization);
  const client = key === undefined ? undefined : clientForKey(ctx.deps.vault, key, (ctx.deps.now ?? Date.now)());
  if (client === undefined) {
    const blocked = ctx.limiter.fail(remote);
    ctx.log.log('warn', 'serve.auth-failed', { remote, reason: key === undefined ? 'no key' : 'wrong key', blocked: blocked || undefined });
    return failure(new AppError('API_KEY_INVALID'), { 'WWW-Authenticate': 'Bearer realm="anaf-token"' });
  }
  return route(ctx, req, client);
}

export function requestHandler(ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_BODY_BYTES) req.destroy();
    });
    req.on('error', () => undefined);
    answer(ctx, req)
      .catch((e: unknown) => {
        if (!(e instanceof AppError)) ctx.log.log('error', 'serve.internal', { error: e instanceof Error ? e.name : 'unknown' });
        return failure(e);
      })
      .then((r) => send(res, r));
  };
}
