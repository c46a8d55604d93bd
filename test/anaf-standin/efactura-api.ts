// ANAF's API server (api.anaf.ro and webservicesp.anaf.ro) inside the stand-in: routes the
// e-Factura and e-Transport paths under /prod and /test, checks the Bearer token the stand-in's
// OAuth issued, counts ANAF's limits, and plays the faults a test sets. Mounted by server.ts.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ANAF_LIMITS, LimitCounter, type ApiLimits, type DailyKind } from './efactura-limits.js';
import { DEFAULT_NOK_ERRORS, EfacturaStandin, type Processing, type ZipFault } from './efactura.js';
import { eroare, etErrors, htmlReply, springError, stateHeader, uploadHeader, type ApiReply } from './efactura-replies.js';
import { EtransportStandin } from './etransport.js';
import { faultPage, wafPage } from './pages.js';

export type ApiEndpoint =
  | 'upload'
  | 'uploadb2c'
  | 'stareMesaj'
  | 'listaMesajeFactura'
  | 'listaMesajePaginatieFactura'
  | 'descarcare'
  | 'validare'
  | 'transformare'
  | 'etUpload'
  | 'etStareMesaj'
  | 'etLista';

export const API_ENDPOINTS: readonly ApiEndpoint[] = [
  'upload',
  'uploadb2c',
  'stareMesaj',
  'listaMesajeFactura',
  'listaMesajePaginatieFactura',
  'descarcare',
  'validare',
  'transformare',
  'etUpload',
  'etStareMesaj',
  'etLista',
];

/** How the bearer token of a request stands with the stand-in's OAuth. */
export type BearerState = 'ok' | 'missing' | 'unknown' | 'expired' | 'revoked';

export interface ApiFaults {
  /** Default: every endpoint. */
  endpoints?: ApiEndpoint[];
  /** How many matching requests the fault applies to, then it clears itself. Default unlimited. */
  times?: number;
  /** ANAF down: HTTP 503 maintenance page, nothing processed. */
  down?: boolean;
  /** Wait this long before answering (the exchange itself is not changed). */
  slowMs?: number;
  /** Answer this HTTP status (ANAF's Spring JSON error), nothing processed. */
  status?: number;
  /** HTTP 200 text/html "The requested URL was rejected" of ANAF's F5 firewall, nothing processed. */
  waf?: boolean;
  /** An HTTP 200 refusal in the endpoint's own shape (XML Errors, JSON eroare or Errors[]), nothing processed. */
  eroare?: 'noSpvRight' | 'tooOld' | 'dailyLimit';
  /** The connection is cut once the request is read, nothing processed. */
  dropBeforeProcessing?: boolean;
  /** The request is processed for real (an upload is accepted), then the connection is cut. */
  lostAfterAccept?: boolean;
  /** descarcare serves a hostile or damaged ZIP. */
  zip?: ZipFault;
}

export interface ApiOptions {
  limits: ApiLimits;
  processing: Processing;
  /** CIFs the token's holder has SPV rights on; undefined: every CIF. */
  spvCifs: string[] | undefined;
  /** A refused token answers 401 (missing, unknown, expired) or 403 (revoked) unless this says one status for all. */
  unauthorizedStatus: 401 | 403 | undefined;
  /** How long ANAF keeps messages. */
  retentionDays: number;
  /** validare and transformare 404 on ANAF's test environment; true serves them there too. */
  publicOnTest: boolean;
}

/** What setOptions takes: any option, and any part of the limits or of the processing. */
export type ApiOptionsPatch = Partial<Omit<ApiOptions, 'limits' | 'processing'>> & { limits?: Partial<ApiLimits>; processing?: Partial<Processing> };

export interface ApiStandin {
  /** Requests per endpoint, answered or not (unauthenticated and faulted ones included). */
  readonly requests: Record<ApiEndpoint, number>;
  /** Requests refused with 401/403. */
  readonly unauthorized: { count: number };
  /** The stand-in's clock (advanceClock moves it), in epoch ms: for list periods. */
  nowMs(): number;
  /** Today's calls (stand-in clock, Romanian day) of a daily-limited kind for a message id or CIF, refused ones included. */
  daily(kind: DailyKind, key: string): number;
  /** The most calls of a kind any message or CIF got on any day: compare with the limit. */
  maxDaily(kind: DailyKind): number;
  /** The most API calls seen within any 60 seconds. */
  peakPerMinute(): number;
  /** Calls ANAF's limits refused: 429s, and HTTP 200 "S-au facut deja …" per kind. */
  refused(): { perMinute: number; daily: Record<DailyKind, number> };
  readonly efactura: EfacturaStandin;
  readonly etransport: EtransportStandin;
  setFaults(f: ApiFaults): void;
  clearFaults(): void;
  setOptions(o: ApiOptionsPatch): void;
  readonly options: Readonly<ApiOptions>;
  /** Received messages for a CIF (FACTURA PRIMITA by default): their download ids. */
  seedMessages(cif: string, n: number, opts?: { tip?: string; atMs?: number }): string[];
  resetCounters(): void;
}

export interface ApiMount extends ApiStandin {
  owns(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void>;
  close(): void;
}

interface Route {
  endpoint: ApiEndpoint;
  env: 'prod' | 'test';
  /** Path parameters after the endpoint name. */
  params: string[];
  method: 'GET' | 'POST';
  needsToken: boolean;
}

const EF = /^\/(prod|test)\/FCTEL\/rest\/([A-Za-z0-9]+)((?:\/[^/]+)*)$/;
const ET = /^\/(prod|test)\/ETRANSPORT\/ws\/v1\/([A-Za-z0-9]+)((?:\/[^/]+)*)$/;
const EF_NAMES: Record<string, [ApiEndpoint, 'GET' | 'POST']> = {
  upload: ['upload', 'POST'],
  uploadb2c: ['uploadb2c', 'POST'],
  stareMesaj: ['stareMesaj', 'GET'],
  listaMesajeFactura: ['listaMesajeFactura', 'GET'],
  listaMesajePaginatieFactura: ['listaMesajePaginatieFactura', 'GET'],
  descarcare: ['descarcare', 'GET'],
  validare: ['validare', 'POST'],
  transformare: ['transformare', 'POST'],
};
const ET_NAMES: Record<string, [ApiEndpoint, 'GET' | 'POST']> = {
  upload: ['etUpload', 'POST'],
  stareMesaj: ['etStareMesaj', 'GET'],
  lista: ['etLista', 'GET'],
};
const MAX_BODY = 6 * 1024 * 1024;

function route(pathname: string): Route | undefined {
  for (const [re, names] of [
    [EF, EF_NAMES],
    [ET, ET_NAMES],
  ] as const) {
    const m = re.exec(pathname);
    if (!m) continue;
    const hit = names[m[2]!];
    if (!hit) return undefined;
    const params = (m[3] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const endpoint = hit[0];
    return { endpoint, env: m[1] as 'prod' | 'test', params, method: hit[1], needsToken: endpoint !== 'validare' && endpoint !== 'transformare' };
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function mountApi(deps: { nowMs(): number; bearer(token: string | undefined): BearerState; signingKey: KeyObject; supportId(): string }): ApiMount {
  const counter = new LimitCounter();
  const options: ApiOptions = {
    limits: counter.limits,
    processing: { delayMs: 0, outcome: 'ok', errors: [...DEFAULT_NOK_ERRORS] },
    spvCifs: undefined,
    unauthorizedStatus: undefined,
    retentionDays: 60,
    publicOnTest: false,
  };
  // The handlers read these through getters, so setOptions reaches them at once.
  const efactura = new EfacturaStandin({
    nowMs: deps.nowMs,
    counter,
    get processing() {
      return options.processing;
    },
    get spvCifs() {
      return options.spvCifs;
    },
    get retentionDays() {
      return options.retentionDays;
    },
    signingKey: deps.signingKey,
  });
  const etransport = new EtransportStandin({
    nowMs: deps.nowMs,
    counter,
    get processing() {
      return options.processing;
    },
    get spvCifs() {
      return options.spvCifs;
    },
  });
  const requests = Object.fromEntries(API_ENDPOINTS.map((e) => [e, 0])) as Record<ApiEndpoint, number>;
  const unauthorized = { count: 0 };
  let faults: ApiFaults | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function takeFault(e: ApiEndpoint): ApiFaults | undefined {
    const f = faults;
    if (!f || (f.endpoints && !f.endpoints.includes(e))) return undefined;
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) faults = undefined;
    }
    return f;
  }

  function write(res: ServerResponse, r: ApiReply): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(r.status, { ...r.headers, 'Content-Length': String(r.body.length) });
    res.end(r.body);
  }

  function denied(state: BearerState): ApiReply {
    unauthorized.count += 1;
    const status = options.unauthorizedStatus ?? (state === 'revoked' ? 403 : 401);
    const challenge = state === 'missing' ? 'Bearer realm="api.anaf.ro"' : 'Bearer error="invalid_token"';
    return springError(status, status === 401 ? 'Unauthorized' : 'Forbidden', status === 401 ? 'Unauthorized' : 'Access is denied', deps.nowMs(), {
      'WWW-Authenticate': challenge,
    });
  }

  /** A forced HTTP 200 refusal, in the shape the endpoint uses. */
  function forcedRefusal(r: Route, kind: NonNullable<ApiFaults['eroare']>, q: URLSearchParams): ApiReply {
    const now = deps.nowMs();
    const cif = q.get('cif') ?? r.params[1] ?? '0';
    const text =
      kind === 'noSpvRight'
        ? `Nu aveti drept in SPV pentru CIF=${cif}`
        : kind === 'tooOld'
          ? 'Fisierul nu mai poate fi descarcat pentru ca a trecut perioada de 60 de zile in care este disponibil'
          : 'S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei';
    switch (r.endpoint) {
      case 'upload':
      case 'uploadb2c':
        return uploadHeader(now, { errors: [text] });
      case 'stareMesaj':
        return stateHeader({ errors: [text] });
      case 'etUpload':
      case 'etStareMesaj':
      case 'etLista':
        return etErrors(now, [text]);
      case 'descarcare':
        return eroare(text, 'Descarcare mesaj');
      default:
        return eroare(text, 'Lista Mesaje');
    }
  }

  function dispatch(r: Route, q: URLSearchParams, body: Buffer, fault: ApiFaults | undefined): ApiReply {
    const now = deps.nowMs();
    switch (r.endpoint) {
      case 'upload':
      case 'uploadb2c':
        return efactura.upload(q, body, r.endpoint === 'uploadb2c');
      case 'stareMesaj':
        return efactura.stareMesaj(q);
      case 'listaMesajeFactura':
        return efactura.lista(q);
      case 'listaMesajePaginatieFactura':
        return efactura.listaPaginated(q);
      case 'descarcare':
        return efactura.descarcare(q, fault?.zip);
      case 'validare':
        return efactura.validare(r.params[0] ?? '', body);
      case 'transformare':
        return efactura.transformare(r.params[0] ?? '', body, r.params[1] === 'DA');
      case 'etUpload':
        return r.params.length >= 2 ? etransport.upload(r.params[0]!, r.params[1]!, r.params[2], body) : etransport.missing(now);
      case 'etStareMesaj':
        return r.params[0] ? etransport.stareMesaj(r.params[0]) : etransport.missing(now);
      case 'etLista':
        return r.params.length === 2 ? etransport.lista(r.params[0]!, r.params[1]!) : etransport.missing(now);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const r = route(u.pathname);
    const now = deps.nowMs();
    if (!r) {
      req.resume();
      write(res, springError(404, 'Not Found', 'No message available', now));
      return;
    }
    requests[r.endpoint] += 1;
    const body = req.method === 'POST' ? await readBody(req) : (req.resume(), Buffer.alloc(0));
    const fault = takeFault(r.endpoint);
    if (fault?.slowMs) await sleep(fault.slowMs);
    if (fault?.dropBeforeProcessing) {
      res.socket?.destroy();
      return;
    }
    if (fault?.down) return write(res, htmlReply(503, faultPage(503)));
    if (fault?.waf) return write(res, htmlReply(200, wafPage(deps.supportId())));
    if (fault?.status !== undefined) return write(res, springError(fault.status, 'Error', `Eroare simulata ${fault.status}`, now));
    if (req.method !== r.method)
      return write(res, springError(405, 'Method Not Allowed', `Request method '${req.method ?? ''}' not supported`, now, { Allow: r.method }));
    if (!counter.minute(now)) {
      return write(res, { ...springError(429, 'Too Many Requests', 'Limita de 1000 de apeluri pe minut a fost depasita', now, { 'Retry-After': '60' }) });
    }
    if ((r.endpoint === 'validare' || r.endpoint === 'transformare') && r.env === 'test' && !options.publicOnTest) {
      return write(res, springError(404, 'Not Found', 'No message available', now));
    }
    if (r.needsToken) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      const state = deps.bearer(m?.[1]);
      if (state !== 'ok') return write(res, denied(state));
    }
    if (body === 'too-large') {
      return write(
        res,
        r.endpoint.startsWith('et')
          ? etErrors(now, ['Marime fisier transmis mai mare de 5 MB.'])
          : uploadHeader(now, { errors: ['Marime fisier transmis mai mare de 5 MB.'] }),
      );
    }
    if (fault?.eroare) return write(res, forcedRefusal(r, fault.eroare, u.searchParams));
    const reply = dispatch(r, u.searchParams, body, fault);
    if (fault?.lostAfterAccept) {
      res.socket?.destroy();
      return;
    }
    write(res, reply);
  }

  return {
    requests,
    unauthorized,
    efactura,
    etransport,
    options,
    nowMs: deps.nowMs,
    daily: (kind, key) => counter.count(kind, key, deps.nowMs()),
    maxDaily: (kind) => counter.max(kind),
    peakPerMinute: () => counter.peakPerMinute,
    refused: () => ({ perMinute: counter.refusedPerMinute, daily: { ...counter.refusedDaily } }),
    setFaults(f) {
      faults = { ...f, endpoints: f.endpoints ? [...f.endpoints] : undefined };
    },
    clearFaults() {
      faults = undefined;
    },
    setOptions(o) {
      if (o.limits) Object.assign(counter.limits, o.limits);
      if (o.processing) options.processing = { ...options.processing, ...o.processing };
      if ('spvCifs' in o) options.spvCifs = o.spvCifs ? [...o.spvCifs] : undefined;
      if ('unauthorizedStatus' in o) options.unauthorizedStatus = o.unauthorizedStatus;
      if (o.retentionDays !== undefined) options.retentionDays = o.retentionDays;
      if (o.publicOnTest !== undefined) options.publicOnTest = o.publicOnTest;
    },
    seedMessages: (cif, n, opts) => efactura.seed(cif, n, opts),
    resetCounters() {
      for (const e of API_ENDPOINTS) requests[e] = 0;
      unauthorized.count = 0;
      counter.reset();
    },
    owns: (pathname) => EF.test(pathname) || ET.test(pathname),
    handle,
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

export { ANAF_LIMITS };
