/**
 * The gateway inside serve: which paths are its own, and starting it when it is first needed. Its
 * store (beside the token store), its worker (sending, polling, reconciling whatever is due, from
 * any process), its routes and the optional webhook (ANAF_TOKEN_GATEWAY_WEBHOOK, an http address
 * on loopback) start at the first request to one of its paths, or as soon as its store holds
 * unfinished jobs (queued by the CLI, another instance, or this one before it restarted): looked
 * for at start and then as often as an idle worker looks. A serve that only hands out tokens
 * carries none of it.
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { App } from '../app.js';
import { openGatewayStore } from '../gateway/open.js';
import { GATEWAY_FILE } from '../gateway/sqlite-store.js';
import type { GatewayStore } from '../gateway/store.js';
import { timingFromEnv } from '../gateway/timing.js';
import type { Grant } from '../gateway/tokens.js';
import type { GatewayAnswer, GatewayClient, GatewayRoutes } from './gateway-routes.js';
import { errorBody, httpStatusFor } from './http-errors.js';

const PREFIXES = ['/v1/efactura/', '/v1/etransport/', '/v1/jobs'];

export function isGatewayPath(pathname: string): boolean {
  return PREFIXES.some((p) => pathname === p || pathname.startsWith(p.endsWith('/') ? p : `${p}/`) || pathname === p.replace(/\/$/, ''));
}

/** Paths that take a request body (the token endpoints take none). */
export function takesBody(rawUrl: string | undefined): boolean {
  const p = (rawUrl ?? '').split('?')[0] ?? '';
  return /^\/v1\/(efactura\/(upload|validate|pdf)|etransport\/upload)$/.test(p);
}

interface Running {
  routes: GatewayRoutes;
  close(): Promise<void>;
}

export class LazyGateway {
  /** Its store, opened once (a look and a request may both want it): kept to look for unfinished jobs, then handed to the gateway. */
  private store: Promise<GatewayStore> | undefined;
  private looking = false;
  private running: Promise<Running | undefined> | undefined;
  private watch: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly app: App,
    private readonly grant: Grant,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** At serve start: starts it now when its store holds unfinished jobs, else keeps looking. */
  async open(): Promise<void> {
    await this.look();
    if (!this.running && !this.closed) {
      this.watch = setInterval(() => void this.look(), timingFromEnv(this.env).idleMs);
      this.watch.unref();
    }
  }

  async handle(req: IncomingMessage, url: URL, client: GatewayClient): Promise<GatewayAnswer> {
    const g = await this.start();
    if (g) return g.routes.handle(req, url, client);
    // Not started (the log says why): as if serve had no gateway.
    req.resume();
    const e = new AppError('API_ROUTE_NOT_FOUND');
    return { status: httpStatusFor(e.code), body: errorBody(e) };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watch);
    const g = await this.running;
    if (g) await g.close();
    else await this.store?.then((st) => st.close()).catch(() => undefined);
  }

  /** The store, opened by the first caller; a failed open is tried again by the next. */
  private openStore(): Promise<GatewayStore> {
    this.store ??= openGatewayStore(this.app).catch((e: unknown) => {
      this.store = undefined;
      throw e;
    });
    return this.store;
  }

  private async look(): Promise<void> {
    // One look at a time: a PostgreSQL that is slow to answer must not stack them up.
    if (this.running || this.closed || this.looking) return;
    this.looking = true;
    try {
      // A missing local file is no store: it is made only when the gateway is used.
      const local = this.app.location().engine === 'sqlite';
      if (!this.store && local && !fs.existsSync(path.join(this.app.paths.dataDir, GATEWAY_FILE))) return;
      const store = await this.openStore();
      if (!this.closed && (await store.nextDue()) !== undefined) await this.start();
    } catch {
      // Looked for again after the next interval; a request that needs the gateway says why it cannot start.
    } finally {
      this.looking = false;
    }
  }

  private start(): Promise<Running | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    this.running ??= this.run().catch((e: unknown) => {
      this.app.log.log('error', 'gateway.not-started', { code: AppError.from(e).code });
      this.running = undefined; // the next request tries again
      return undefined;
    });
    return this.running;
  }

  private async run(): Promise<Running> {
    const [{ Gateway }, { GatewayRoutes }, { webhook }] = await Promise.all([
      import('../gateway/service.js'),
      import('./gateway-routes.js'),
      import('../gateway/webhook.js'),
    ]);
    const hook = this.env.ANAF_TOKEN_GATEWAY_WEBHOOK ? webhook(this.env.ANAF_TOKEN_GATEWAY_WEBHOOK, this.app.log) : undefined;
    const store = await this.openStore();
    if (this.closed) throw new AppError('API_ROUTE_NOT_FOUND', 'serve is stopping');
    const gateway = new Gateway({ app: this.app, store, grant: this.grant, ...(hook ? { onChange: hook } : {}) });
    gateway.worker.start();
    // Only now: a start that failed leaves the watch looking for jobs.
    clearInterval(this.watch);
    this.app.log.log('info', 'gateway.start', {});
    return {
      routes: new GatewayRoutes(gateway, this.app.store, this.app.now),
      async close() {
        await gateway.close();
        await store.close();
      },
    };
  }
}
