/**
 * `serve`: the ERP token service on loopback (127.0.0.1 and, where IPv6 exists, ::1), plus the
 * background refresh loop. One vault connection; every request reads it afresh (SQLite WAL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../../shared/src/errors.js';
import type { App } from '../app.js';
import { AccessLog } from './access-log.js';
import { BackgroundRefresher } from './background.js';
import { Backoff } from './backoff.js';
import { allowedHosts } from './guards.js';
import { FailureLimiter } from './rate-limit.js';
import { requestHandler } from './routes.js';
import { TokenSource } from './token-source.js';

export interface ServeOptions {
  app: App;
  /** 0 lets the OS choose (tests). */
  port: number;
  /** How often the background loop looks for tokens to refresh; 0 turns it off. */
  checkIntervalMs: number;
  /** First retry delay after a failed refresh; it doubles up to the check interval (at least this). */
  retryBaseMs: number;
  limiter?: FailureLimiter;
}

export interface RunningServe {
  port: number;
  addresses: string[];
  close(): Promise<void>;
}

/** IPv6 switched off or absent: serve on IPv4 only. */
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT', 'EINVAL']);

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen({ port, host, ipv6Only: host === '::1' }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function newServer(handler: http.RequestListener): http.Server {
  const s = http.createServer({ maxHeaderSize: 16 * 1024 }, handler);
  // A stuck client must not hold a connection forever.
  s.headersTimeout = 10_000;
  s.requestTimeout = 60_000;
  s.keepAliveTimeout = 5_000;
  return s;
}

/** Lets requests in progress finish, but not for longer than `graceMs`. */
function close(server: http.Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const hard = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(hard);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function startServe(opts: ServeOptions): Promise<RunningServe> {
  const { app } = opts;
  const deps = app.tokenDeps; // opens the vault now: a locked vault stops serve at once
  const maxMs = Math.max(opts.retryBaseMs, opts.checkIntervalMs || 3_600_000);
  const backoff = new Backoff({ baseMs: opts.retryBaseMs, maxMs, now: app.now });
  const source = new TokenSource(deps, { backoff });
  let hosts: ReadonlySet<string> = new Set();
  const handler = requestHandler({
    deps,
    source,
    limiter: opts.limiter ?? new FailureLimiter({ now: app.now }),
    accessLog: new AccessLog(app.log, 60_000, app.now),
    log: app.log,
    hosts: () => hosts,
  });

  const v4 = newServer(handler);
  let port: number;
  try {
    port = await listen(v4, opts.port, '127.0.0.1');
  } catch (e) {
    throw new AppError('SERVE_LISTEN_FAILED', `127.0.0.1:${opts.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  hosts = allowedHosts(port);
  const addresses = ['127.0.0.1'];
  const v6 = newServer(handler);
  try {
    await listen(v6, port, '::1');
    addresses.push('::1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
    // Clients are told to use 127.0.0.1; ::1 is a convenience for those that resolve "localhost" to it.
    app.log.log(NO_IPV6.has(code) ? 'info' : 'warn', 'serve.ipv6-skipped', { port, code });
  }

  const background = opts.checkIntervalMs > 0 ? new BackgroundRefresher(source, backoff, { intervalMs: opts.checkIntervalMs, log: app.log, now: app.now }) : undefined;
  background?.start();
  app.log.log('info', 'serve.start', { port, addresses: addresses.join(','), checkIntervalMs: opts.checkIntervalMs });

  return {
    port,
    addresses,
    async close() {
      await background?.stop();
      await Promise.all([close(v4), close(v6)]);
      await source.idle();
      app.log.log('info', 'serve.stop', { port });
    },
  };
}
