/**
 * The request handler of `serve`: guards first (Host, browser headers), then the two endpoints
 * that need no key (/healthz, /v1/challenge), then the proof of a client key, then one function
 * per endpoint. Every answer is JSON; every failure is an AppError with its HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '#shared/errors.js';
import { PROFILE_NAME_RE } from '#shared/schemas/profile.js';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { withoutPersonalId } from '#shared/personal-id.js';
import type { Logger } from '../log/logger.js';
import type { TokenDeps } from '../tokens/deps.js';
import { tokenStatus } from '../tokens/status.js';
import { HOST_VERSION } from '../version.js';
import type { Audit } from './audit.js';
import type { AuditResponse, ChallengeResponse, HealthResponse, ProfilesResponse, TokenResponse } from './api.js';
import { SERVER_PROOF_HEADER, WWW_AUTHENTICATE, parseAuthorization, proofMatches, serverProofFor } from './client-keys.js';
import { apiHeaders, checkHeaders, type ApiHeaders } from './guards.js';
import { errorBody, httpStatusFor } from './http-errors.js';
import type { NonceStore } from './nonces.js';
import type { PeerCheck } from './peer.js';
import { UNKNOWN_CLIENT, type FailureDelay } from './rate-limit.js';
import type { RefusalLog, RefusalReason } from './refusal-log.js';
import type { TokenGrant, TokenSource } from './token-source.js';
import { isGatewayPath, takesBody, type LazyGateway } from './gateway-start.js';
import { BodyRefused, IMPORT_PATH, isImportUrl, readAnswerBody, type RequestImports } from './request-import.js';

export interface RouteContext {
  deps: TokenDeps;
  /** Whose connection it is (Linux: another OS user's gets no answer). */
  peers: PeerCheck;
  source: TokenSource;
  nonces: NonceStore;
  delay: FailureDelay;
  refusals: RefusalLog;
  audit: Audit;
  log: Logger;
  /** Known once the server listens (the port may have been chosen by the OS). */
  hosts: () => ReadonlySet<string>;
  /** The e-Factura / e-Transport gateway's endpoints (gateway-routes.ts, started when first needed: gateway-start.ts). */
  gateway?: LazyGateway;
  /** Where request links' answers are imported (POST /v1/requests/import); absent: 404. */
  requests?: RequestImports;
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
    readonly nextPage: () => Promise<unknown[]>,
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

/** The list's text in slices, each page read only when the previous slice was taken. */
async function* listSlices(list: ListBody): AsyncGenerator<string> {
  yield `{${JSON.stringify(list.key)}:[`;
  for (let first = true; ; first = false) {
    const page = await list.nextPage();
    if (page.length === 0) break;
    yield (first ? '' : ',') + page.map((item) => JSON.stringify(item)).join(',');
  }
  yield ']}';
}

async function sendList(res: ServerResponse, status: number, list: ListBody): Promise<void> {
  res.writeHead(status, BASE_HEADERS);
  let ok = true;
  for await (const slice of listSlices(list)) {
    if (!ok) await drained(res);
    if (res.destroyed) return;
    ok = res.write(slice);
  }
  res.end();
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
  const err = AppError.from(e);
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

function tokenReply(g: TokenGrant): Reply {
  return new Reply(200, new JsonText(JSON.stringify(tokenBody(g))));
}

/** An ERP's token request as it comes, already canonical: no URL parsing needed. */
const PLAIN_TOKEN_PATH = /^\/v1\/profiles\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\/token$/;

type Route =
  | { kind: 'health' }
  | { kind: 'challenge' }
  | { kind: 'profiles' }
  | { kind: 'audit'; profile: string | undefined; since: number | undefined; limit: number }
  | { kind: 'token' | 'refresh'; profile: string }
  | { kind: 'gateway'; url: URL }
  | { kind: 'request-import' }
  | { kind: 'bad-method'; allow: string }
  | { kind: 'not-found' };

export function matchRoute(method: string, rawUrl: string): Route {
  // The common case first: a plain path that WHATWG URL parsing would leave as it is.
  const plain = PLAIN_TOKEN_PATH.exec(rawUrl);
  if (plain) return method === 'GET' ? { kind: 'token', profile: plain[1]! } : { kind: 'bad-method', allow: 'GET' };
  let url: URL;
  try {
    url = new URL(rawUrl, 'http://127.0.0.1');
  } catch {
    return { kind: 'not-found' };
  }
  const { pathname } = url;
  const want = (allow: string, ok: Route): Route => (method === allow ? ok : { kind: 'bad-method', allow });
  if (pathname === '/healthz') return want('GET', { kind: 'health' });
  if (pathname === '/v1/challenge') return want('GET', { kind: 'challenge' });
  if (pathname === '/v1/profiles') return want('GET', { kind: 'profiles' });
  if (pathname === '/v1/audit') return want('GET', auditRoute(url.searchParams));
  if (pathname === IMPORT_PATH) return want('POST', { kind: 'request-import' });
  if (isGatewayPath(pathname)) return { kind: 'gateway', url };
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

/** Most audit rows one answer carries. */
const AUDIT_MAX = 1000;

/** `?profile=&since=<ISO time>&limit=`: anything malformed is a 400, not a guess. */
function auditRoute(q: URLSearchParams): Route {
  const profile = q.get('profile') ?? undefined;
  const since = q.get('since') ?? undefined;
  const limit = q.get('limit') ?? '100';
  if (profile !== undefined && !PROFILE_NAME_RE.test(profile)) throw new AppError('BAD_REQUEST', 'profile: not a profile name');
  const sinceMs = since === undefined ? undefined : Date.parse(since);
  if (sinceMs !== undefined && !Number.isFinite(sinceMs)) throw new AppError('BAD_REQUEST', 'since: not an ISO 8601 time');
  if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > AUDIT_MAX) throw new AppError('BAD_REQUEST', `limit: 1 to ${AUDIT_MAX}`);
  return { kind: 'audit', profile, since: sinceMs, limit: Number(limit) };
}

const HEALTH = new Reply(200, new JsonText(JSON.stringify({ status: 'ok', version: HOST_VERSION } satisfies HealthResponse)));

function challenge(ctx: RouteContext): Reply {
  const { nonce, expiresAt } = ctx.nonces.issue();
  return new Reply(200, { nonce, expiresAt: new Date(expiresAt).toISOString() } satisfies ChallengeResponse);
}

async function route(ctx: RouteContext, req: IncomingMessage, r: Route, client: Client): Promise<Reply> {
  switch (r.kind) {
    case 'health':
      return HEALTH;
    case 'challenge':
      return challenge(ctx);
    case 'profiles': {
      const { store } = ctx.deps;
      const now = (ctx.deps.now ?? Date.now)();
      const personalId = (await store.apiClientKey(client.name))?.personalId === true;
      const { scope } = client;
      let after: string | undefined;
      // Same shape as ProfilesResponse, read and written a page at a time; a scoped client sees its profiles only.
      return new Reply(
        200,
        new ListBody('profiles' satisfies keyof ProfilesResponse, async () => {
          for (;;) {
            const page = await store.profilePage(after, LIST_PAGE);
            after = page.at(-1)?.profile.name;
            const mine = scope ? page.filter((p) => scope.has(p.profile.name)) : page;
            if (mine.length > 0 || page.length === 0) return mine.map((p) => forClient(tokenStatus(p.profile, p.token, now), personalId));
          }
        }),
      );
    }
    case 'audit': {
      const { scope } = client;
      if (r.profile !== undefined && scope !== undefined && !scope.has(r.profile)) throw new AppError('API_PROFILE_NOT_ALLOWED', r.profile);
      const rows = await ctx.deps.store.audit({
        profile: r.profile,
        since: r.since,
        limit: scope === undefined || r.profile !== undefined ? r.limit : AUDIT_MAX,
      });
      const entries = rows.filter((e) => scope === undefined || scope.has(e.profile)).slice(0, r.limit);
      return new Reply(200, { entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) } satisfies AuditResponse);
    }
    case 'token':
    case 'refresh': {
      // A name that cannot be a profile cannot exist either.
      if (!PROFILE_NAME_RE.test(r.profile)) throw new AppError('PROFILE_NOT_FOUND', r.profile.slice(0, 64));
      // Before anything is read: whether such a profile exists is not this client's business either.
      if (client.scope !== undefined && !client.scope.has(r.profile)) {
        ctx.audit.refused(client.name, r.profile);
        throw new AppError('API_PROFILE_NOT_ALLOWED', r.profile);
      }
      return grant(ctx, r.kind, r.profile, client.name);
    }
    case 'request-import': {
      if (!ctx.requests) return failure(new AppError('API_ROUTE_NOT_FOUND'));
      const { scope } = client;
      let text: string;
      try {
        text = await readAnswerBody(req);
      } catch (e) {
        if (!(e instanceof BodyRefused)) throw e;
        // Too large: the rest is not read, and the connection closes with the answer.
        return new Reply(e.status, errorBody(e.error), e.status === 413 ? { Connection: 'close' } : NO_HEADERS);
      }
      const done = await ctx.requests.importAnswer(text, {
        allowed: (profile) => scope === undefined || scope.has(profile),
        refused: (profile) => ctx.audit.refused(client.name, profile),
      });
      ctx.log.log('info', 'serve.request-imported', { client: client.name, profile: done.profile, request: done.requestId, generation: done.generation });
      return new Reply(200, done);
    }
    case 'gateway': {
      if (!ctx.gateway) return failure(new AppError('API_ROUTE_NOT_FOUND'));
      const a = await ctx.gateway.handle(req, r.url, client);
      return new Reply(a.status, a.body, a.headers ?? NO_HEADERS);
    }
    case 'bad-method':
      return new Reply(405, errorBody(new AppError('BAD_REQUEST', `method ${req.method ?? ''} not allowed here`)), { Allow: r.allow });
    case 'not-found':
      return failure(new AppError('API_ROUTE_NOT_FOUND'));
  }
}

/** last_used_at is written at most this often, so a busy ERP does not cost a disk sync per request. */
const TOUCH_EVERY_MS = 60_000;

/** What the server's proof of an answer needs: the ERP asked for it with `cnonce` (client-keys.ts). */
interface Vouch {
  key: Buffer;
  cnonce: string;
  nonce: string;
  host: string;
}

/** A proven client: its name, and the profiles it may get tokens of (undefined: all). */
interface Client {
  name: string;
  scope: ReadonlySet<string> | undefined;
}

type Auth =
  | { ok: true; client: Client; vouch: Vouch | undefined }
  /** `delayKey`: the refusal is a failed proof, held back by the failure delay under this key. */
  | { ok: false; refused: RefusalReason; error: AppError; delayKey?: string; client?: string };

async function authenticate(ctx: RouteContext, req: IncomingMessage, headers: ApiHeaders): Promise<Auth> {
  const { store } = ctx.deps;
  const header = headers.authorization;
  const host = headers.host!; // checkHeaders let it through: one of ours
  const now = (ctx.deps.now ?? Date.now)();
  const auth = parseAuthorization(header);
  switch (auth.kind) {
    case 'none':
      return { ok: false, refused: 'noCredentials', error: new AppError('API_KEY_INVALID', 'no Authorization header') };
    case 'bearer':
      return { ok: false, refused: 'bearer', error: new AppError('API_BEARER_REFUSED') };
    case 'malformed':
      return { ok: false, refused: 'malformed', error: new AppError('API_KEY_INVALID', 'Authorization is not AnafToken client="…", nonce="…", proof="…"') };
  }
  if (ctx.nonces.expiresAt(auth.nonce) === undefined) {
    // The usual way a nonce ends (it expired, or serve restarted): no guess was made, no delay.
    return { ok: false, refused: 'nonce', error: new AppError('API_KEY_INVALID', 'unknown or expired nonce: fetch a new one from /v1/challenge') };
  }
  const c = await store.apiClientKey(auth.client);
  if (c?.state === 'old') return { ok: false, refused: 'oldKey', error: new AppError('API_CLIENT_KEY_OLD', auth.client), client: auth.client };
  // An unknown client is checked against a key nobody has: the same work, the same answer.
  if (!proofMatches(c?.key, auth.nonce, host, auth.proof)) {
    return c === undefined
      ? { ok: false, refused: 'client', error: new AppError('API_KEY_INVALID'), delayKey: UNKNOWN_CLIENT }
      : { ok: false, refused: 'proof', error: new AppError('API_KEY_INVALID'), delayKey: auth.client, client: auth.client };
  }
  ctx.nonces.used(auth.nonce);
  if (c!.lastUsedAt === undefined || now - c!.lastUsedAt >= TOUCH_EVERY_MS) {
    try {
      await store.touchApiClient(auth.client, now);
    } catch {
      /* "last used" is informative; a busy store must not fail the request */
    }
  }
  const vouch = auth.cnonce === undefined ? undefined : { key: c!.key!, cnonce: auth.cnonce, nonce: auth.nonce, host };
  const client: Client = { name: auth.client, scope: c!.profiles && new Set(c!.profiles) };
  return { ok: true, client, vouch };
}

async function grant(ctx: RouteContext, kind: 'token' | 'refresh', profile: string, client: string): Promise<Reply> {
  try {
    // POST …/refresh follows the same rule as GET …/token (tokens/due.ts): it refreshes only when a
    // refresh can help, else it hands out the current token, so an ERP asking in a loop cannot
    // become a loop of refreshes at ANAF.
    const g = await ctx.source.token(profile);
    ctx.audit.served(client, profile, g.generation, kind);
    return tokenReply(g);
  } catch (e) {
    const retry = ctx.source.retryAfterSeconds(profile);
    const err = AppError.from(e);
    return failure(err, httpStatusFor(err.code) === 503 && retry !== undefined ? { 'Retry-After': String(retry) } : {});
  }
}

async function wholeText(list: ListBody): Promise<string> {
  let text = '';
  for await (const slice of listSlices(list)) text += slice;
  return text;
}

/** The answer as sent, with the server's proof over its status and body (the whole list, when it is one). */
async function vouched(r: Reply, v: Vouch): Promise<Reply> {
  const text = r.body instanceof JsonText ? r.body.text : r.body instanceof ListBody ? await wholeText(r.body) : JSON.stringify(r.body);
  return new Reply(r.status, new JsonText(text), { ...r.headers, [SERVER_PROOF_HEADER]: serverProofFor(v.key, v, r.status, text) });
}

/** A failure that is not an AppError is a bug: logged (without its text, which may hold anything), answered as INTERNAL. */
function internal(ctx: RouteContext, e: unknown): Reply {
  if (!(e instanceof AppError)) ctx.log.log('error', 'serve.internal', { error: e instanceof Error ? e.name : 'unknown' });
  return failure(e);
}

/** A proven request that asked (cnonce) for the server's proof: every answer vouched for, its errors too. */
async function vouchedRoute(ctx: RouteContext, req: IncomingMessage, r: Route, client: Client, v: Vouch): Promise<Reply> {
  let reply: Reply;
  try {
    reply = await route(ctx, req, r, client);
  } catch (e) {
    reply = internal(ctx, e);
  }
  try {
    return await vouched(reply, v); // a list is read whole here: the store may fail
  } catch (e) {
    return vouched(internal(ctx, e), v);
  }
}

async function answer(ctx: RouteContext, req: IncomingMessage, headers: ApiHeaders): Promise<Reply | undefined> {
  // Before anything is counted against a client: these requests are not guesses, they are from browsers or to other names.
  const refused = checkHeaders(headers, ctx.hosts());
  if (refused) {
    ctx.refusals.note(refused.code === 'HOST_NOT_ALLOWED' ? 'host' : 'web');
    return failure(refused);
  }
  const r = matchRoute(req.method ?? 'GET', req.url ?? '/');
  // No key for these: /healthz says a service answers, /v1/challenge starts the proof.
  if (r.kind === 'health') return HEALTH;
  if (r.kind === 'challenge') return challenge(ctx);
  const auth = await authenticate(ctx, req, headers);
  if (auth.ok) return auth.vouch === undefined ? route(ctx, req, r, auth.client) : vouchedRoute(ctx, req, r, auth.client, auth.vouch);
  ctx.refusals.note(auth.refused, auth.client);
  const reply = failure(auth.error, { 'WWW-Authenticate': WWW_AUTHENTICATE });
  if (auth.delayKey === undefined) return reply;
  const ms = ctx.delay.fail(auth.delayKey);
  if (ms === undefined) {
    // Too many refusals already wait: this connection gets no answer at all.
    ctx.refusals.note('overload');
    return undefined;
  }
  return ms > 0 ? ctx.delay.hold(ms, reply) : reply;
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
  const handle = (req: IncomingMessage, res: ServerResponse, headers: ApiHeaders) => {
    void answer(ctx, req, headers)
      .catch((e: unknown) => internal(ctx, e))
      .then((r) => {
        if (r === undefined) return req.socket.destroy();
        // A body the answer did not read (an upload refused before its key was proven): the
        // connection closes after the answer instead of taking that body in to keep it alive.
        if (!req.complete) res.setHeader('Connection', 'close');
        send(res, r);
      });
  };
  // Another OS user's connection: no answer at all, not even an error (server.ts closes it and counts it).
  const refusePeer = (req: IncomingMessage) => req.socket.destroy();
  return (req, res) => {
    const headers = apiHeaders(req.headers);
    // The gateway's uploads carry documents: their own cap, read only once the key is proven.
    // So does an answer to a request link (request-import.ts reads it, to its own cap, once the key is proven).
    const ownCap = req.method === 'POST' && ((ctx.gateway !== undefined && takesBody(req.url)) || isImportUrl(req.url));
    if (!ownCap) limitBody(req, headers);
    if (req.destroyed) return;
    // Known at once after a connection's first request; that one waits for the socket table.
    const peer = ctx.peers.verdict(req.socket);
    if (peer === true) handle(req, res, headers);
    else if (peer === false) refusePeer(req);
    else void peer.then((ok) => (ok ? handle(req, res, headers) : refusePeer(req)));
  };
}
