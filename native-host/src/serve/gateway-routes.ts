/**
 * The e-Factura / e-Transport gateway in `serve`: the same client keys and proof as the token
 * endpoints (routes.ts authenticates first, then hands these paths here), and a client limited to
 * some profiles acts for those only. Uploads carry the XML as the request body (up to ANAF's
 * 5 MB); everything else answers JSON.
 *
 *   POST /v1/efactura/upload?cif=&standard=&b2c=1&extern=1&autofactura=1&force=1[&profile=]   202 job
 *   POST /v1/etransport/upload?cif=&force=1[&profile=]                                        202 job
 *   GET  /v1/jobs/{job}                                                                        job
 *   GET  /v1/jobs?profile=&state=&limit=&before=                                               { jobs }
 *   GET  /v1/efactura/messages?cif=&days=&filter=[&profile=]                                   { messages }
 *   POST /v1/efactura/download?id=&cif=[&profile=]                                             { folder, files, … }
 *   POST /v1/efactura/validate?standard=FACT1|FCN[&profile=]                                   { valid, messages }
 *   POST /v1/efactura/pdf?standard=FACT1|FCN[&profile=]                                        { pdf: base64 }
 *   GET  /v1/etransport/list?cif=&days=[&profile=]                                             { records }
 */
import type { IncomingMessage } from 'node:http';
import { AppError } from '#shared/errors.js';
import { PROFILE_NAME_RE } from '#shared/schemas/profile.js';
import { MAX_UPLOAD_BYTES, type MessageFilter, type ValidationStandard } from '../efactura/index.js';
import { retryAfterOf } from '../gateway/limits.js';
import { Gateway, JOB_ID_RE, jobView } from '../gateway/service.js';
import { JOB_STATES, type JobState } from '../gateway/types.js';
import type { Store } from '../store/store.js';
import { errorBody, httpStatusFor } from './http-errors.js';

export interface GatewayClient {
  name: string;
  scope: ReadonlySet<string> | undefined;
}

export interface GatewayAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The body, up to ANAF's 5 MB (one byte more is refused at once). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) {
      req.resume();
      reject(new AppError('ANAF_API_FILE_TOO_LARGE', `${declared} bytes, at most ${MAX_UPLOAD_BYTES}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_UPLOAD_BYTES) {
        reject(new AppError('ANAF_API_FILE_TOO_LARGE', `more than ${MAX_UPLOAD_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new AppError('BAD_REQUEST', 'the request body was cut off')));
  });
}

const flag = (q: URLSearchParams, name: string): boolean => {
  const v = q.get(name);
  return v === '1' || v === 'true' || v === 'DA';
};

function need(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === '') throw new AppError('BAD_REQUEST', `${name} is required`);
  return v;
}

function days(q: URLSearchParams, dflt: number): number {
  const v = q.get('days') ?? String(dflt);
  if (!/^\d{1,2}$/.test(v) || Number(v) < 1 || Number(v) > 60) throw new AppError('BAD_REQUEST', 'days: 1 to 60');
  return Number(v);
}

export class GatewayRoutes {
  constructor(
    readonly gateway: Gateway,
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** The profile asked for, or the client's only one (or the store's only one); checked against its scope. */
  private async profile(q: URLSearchParams, client: GatewayClient): Promise<string> {
    let p = q.get('profile') ?? undefined;
    if (p === undefined) {
      if (client.scope?.size === 1) p = [...client.scope][0]!;
      else {
        const page = await this.store.profilePage(undefined, 2);
        if (page.length !== 1) throw new AppError('BAD_REQUEST', 'profile is required (several profiles)');
        p = page[0]!.profile.name;
      }
    }
    if (!PROFILE_NAME_RE.test(p)) throw new AppError('PROFILE_NOT_FOUND', p.slice(0, 64));
    this.allowed(client, p);
    return p;
  }

  private allowed(client: GatewayClient, profile: string): void {
    if (client.scope !== undefined && !client.scope.has(profile)) throw new AppError('API_PROFILE_NOT_ALLOWED', profile);
  }

  async handle(req: IncomingMessage, url: URL, client: GatewayClient): Promise<GatewayAnswer> {
    try {
      return await this.route(req, url, client);
    } catch (e) {
      if (!(e instanceof AppError)) throw e; // a bug: routes.ts logs it and answers INTERNAL
      const retry = retryAfterOf(e, this.now());
      return { status: httpStatusFor(e.code), body: errorBody(e), ...(retry !== undefined ? { headers: { 'Retry-After': String(retry) } } : {}) };
    } finally {
      if (!req.complete) req.resume();
    }
  }

  private async route(req: IncomingMessage, url: URL, client: GatewayClient): Promise<GatewayAnswer> {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const post = (): void => {
      if (method !== 'POST') throw new AppError('BAD_REQUEST', `${path}: POST`);
    };
    const get = (): void => {
      if (method !== 'GET') throw new AppError('BAD_REQUEST', `${path}: GET`);
    };
    const g = this.gateway;
    switch (path) {
      case '/v1/efactura/upload':
      case '/v1/etransport/upload': {
        post();
        const profile = await this.profile(q, client);
        const xml = await readBody(req);
        const kind = path === '/v1/efactura/upload' ? 'efactura' : 'etransport';
        const r = await g.upload({
          profile,
          kind,
          cif: need(q, 'cif'),
          standard: q.get('standard') ?? 'UBL',
          flags: { b2c: flag(q, 'b2c'), extern: flag(q, 'extern'), autofactura: flag(q, 'autofactura') },
          xml,
          force: flag(q, 'force'),
        });
        // 202: accepted and stored; 200: the same document was accepted before (that job).
        return { status: r.duplicate ? 200 : 202, body: jobView(r.job, r.duplicate) };
      }
      case '/v1/jobs': {
        get();
        const profile = q.get('profile') ?? undefined;
        if (profile !== undefined) this.allowed(client, profile);
        const state = q.get('state');
        if (state !== null && !(JOB_STATES as readonly string[]).includes(state)) throw new AppError('BAD_REQUEST', `state: one of ${JOB_STATES.join(', ')}`);
        const limit = Number(q.get('limit') ?? '100');
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AppError('BAD_REQUEST', 'limit: 1 to 1000');
        const before = q.get('before') ?? undefined;
        // A scoped client's filter goes into the query, before the limit: a page is full of its own jobs.
        const jobs = await g.store.list({
          ...(profile ? { profile } : {}),
          ...(client.scope !== undefined ? { profiles: [...client.scope] } : {}),
          ...(state ? { states: [state as JobState] } : {}),
          limit,
          ...(before ? { before } : {}),
        });
        return { status: 200, body: { jobs: jobs.map((j) => jobView(j)) } };
      }
      case '/v1/efactura/messages': {
        get();
        const profile = await this.profile(q, client);
        const filter = q.get('filter') ?? undefined;
        const messages = await g.messages({ profile, cif: need(q, 'cif'), days: days(q, 7), ...(filter ? { filter: filter as MessageFilter } : {}) });
        return { status: 200, body: { messages } };
      }
      case '/v1/efactura/download': {
        post();
        const id = need(q, 'id');
        if (JOB_ID_RE.test(id)) this.allowed(client, (await g.job(id)).profile);
        const profile = await this.profile(q, client);
        const cif = q.get('cif') ?? undefined;
        const d = await g.download({ profile, id, ...(cif ? { cif } : {}) });
        return { status: 200, body: { id: d.id, cif: d.cif, kind: d.kind, folder: d.folder, files: d.files, downloaded: d.downloaded } };
      }
      case '/v1/efactura/validate':
      case '/v1/efactura/pdf': {
        post();
        const standard = (q.get('standard') ?? 'FACT1') as ValidationStandard;
        const p = q.get('profile') ?? undefined;
        if (p !== undefined) this.allowed(client, p);
        const xml = await readBody(req);
        if (path.endsWith('validate')) return { status: 200, body: await g.validate(xml, standard, p) };
        return { status: 200, body: { pdf: (await g.pdf(xml, standard, p)).toString('base64') } };
      }
      case '/v1/etransport/list': {
        get();
        const profile = await this.profile(q, client);
        return { status: 200, body: await g.transportList({ profile, cif: need(q, 'cif'), days: days(q, 60) }) };
      }
    }
    const m = /^\/v1\/jobs\/([^/]+)$/.exec(path);
    if (m) {
      get();
      let id: string;
      try {
        id = decodeURIComponent(m[1]!);
      } catch {
        throw new AppError('GATEWAY_JOB_NOT_FOUND', m[1]!.slice(0, 64));
      }
      const j = await g.job(id);
      this.allowed(client, j.profile);
      return { status: 200, body: jobView(j) };
    }
    throw new AppError('API_ROUTE_NOT_FOUND');
  }
}
