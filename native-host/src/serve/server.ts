/**
 * `serve`: the ERP token service on loopback (127.0.0.1 and, where IPv6 exists, ::1), plus the
 * background refresh loop. One store (the vault, or the team store); every request asks it, and its
 * read cache follows other processes' commits.
 *
 * It listens on both loopback addresses or on none: if another program holds the port on one of
 * them, an ERP calling "localhost" could reach that program instead, so serve refuses to start
 * (SERVE_LISTEN_FAILED, naming who holds it). Only a machine without IPv6 is served on IPv4 alone.
 * On Linux, a connection from another OS user is closed before it is read (peer.ts).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { AppError } from '#shared/errors.js';
import type { App } from '../app.js';
import { describeHolders, portOwner } from '../service/port-owner.js';
import { IPV6_ABSENT, errnoOf, listenOn } from '../net/loopback.js';
import { Audit } from './audit.js';
import { BackgroundRefresher } from './background.js';
import { Backoff } from './backoff.js';
import { allowedHosts } from './guards.js';
import { NonceStore } from './nonces.js';
import { peerCheck, type PeerCheck } from './peer.js';
import { PROC_TCP } from './proc-net.js';
import { FailureDelay } from './rate-limit.js';
import { RefusalLog } from './refusal-log.js';
import { requestHandler, type RouteContext } from './routes.js';
import { requestImports } from './request-import.js';
import { TokenSource } from './token-source.js';
import { LazyGateway } from './gateway-start.js';

export interface ServeOptions {
  app: App;
  /** 0 lets the OS choose (tests). */
  port: number;
  /** How often the background loop looks for tokens to refresh; 0 turns it off. */
  checkIntervalMs: number;
  /** First retry delay after a failed refresh; it doubles up to the check interval (at least this). */
  retryBaseMs: number;
  delay?: FailureDelay;
  nonces?: NonceStore;
  peers?: PeerCheck;
  /** How often refusals are summed up in the log. */
  refusalLogEveryMs?: number;
}

export interface RunningServe {
  port: number;
  addresses: string[];
  /** 'uid': connections from other OS users are closed (Linux); 'none': this platform cannot tell. */
  peerCheck: PeerCheck['kind'];
  close(): Promise<void>;
}

function canRead(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The error that stops serve when an address cannot be bound, naming who holds it where the system says. */
function listenFailed(app: App, address: string, port: number, e: unknown): AppError {
  const code = errnoOf(e);
  const spelled = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  let holder = '';
  if (code === 'EADDRINUSE') {
    try {
      holder = ` by ${describeHolders(portOwner(port), port)}`;
    } catch {
      /* the detail is a help, not a need */
    }
  }
  app.log.log('error', 'serve.listen-failed', { address: spelled, code, holder: holder || undefined });
  return new AppError('SERVE_LISTEN_FAILED', `${spelled} is in use (${code})${holder}`);
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

/** Both loopback servers on one port, or an error; with port 0, a port free on both is looked for. */
async function listenBoth(app: App, v4: http.Server, v6: http.Server, wanted: number): Promise<{ port: number; addresses: string[] }> {
  for (let attempt = 0; ; attempt++) {
    let port: number;
    try {
      port = await listenOn(v4, wanted, '127.0.0.1');
    } catch (e) {
      throw listenFailed(app, '127.0.0.1', wanted, e);
    }
    try {
      await listenOn(v6, port, '::1');
      return { port, addresses: ['127.0.0.1', '::1'] };
    } catch (e) {
      const code = errnoOf(e);
      if (IPV6_ABSENT.has(code)) {
        app.log.log('info', 'serve.ipv6-absent', { port, code });
        return { port, addresses: ['127.0.0.1'] };
      }
      await new Promise<void>((resolve) => v4.close(() => resolve()));
      // A port the OS chose for 127.0.0.1 may be taken on ::1 by chance: choose again.
      if (wanted === 0 && code === 'EADDRINUSE' && attempt < 10) continue;
      throw listenFailed(app, '::1', port, e);
    }
  }
}

export async function startServe(opts: ServeOptions): Promise<RunningServe> {
  const { app } = opts;
  const deps = app.tokenDeps; // opens the store now: a locked one stops serve at once
  const maxMs = Math.max(opts.retryBaseMs, opts.checkIntervalMs || 3_600_000);
  const backoff = new Backoff({ baseMs: opts.retryBaseMs, maxMs, now: app.now });
  const source = new TokenSource(deps, { backoff });
  const refusals = new RefusalLog(app.log, opts.refusalLogEveryMs);
  const peers = opts.peers ?? peerCheck();
  let hosts: ReadonlySet<string> = new Set();
  const audit = new Audit(app.store, app.log, 60_000, app.now);
  const ctx: RouteContext = {
    deps,
    peers,
    source,
    nonces: opts.nonces ?? new NonceStore({ now: app.now }),
    delay: opts.delay ?? new FailureDelay({ now: app.now }),
    refusals,
    audit,
    log: app.log,
    hosts: () => hosts,
    requests: requestImports(app, app),
  };
  const handler = requestHandler(ctx);
  // Once per connection, from its acceptance: its first request waits for the answer, and a
  // connection of another user is closed as soon as that is known, request or not.
  const onConnection = (socket: Socket) => {
    peers.accepted(socket);
    const drop = (ok: boolean) => {
      if (ok || socket.destroyed) return;
      refusals.note('peer');
      socket.destroy();
    };
    const v = peers.verdict(socket);
    if (typeof v === 'boolean') drop(v);
    else void v.then(drop, () => drop(false));
  };

  const v4 = newServer(handler);
  const v6 = newServer(handler);
  v4.on('connection', onConnection);
  v6.on('connection', onConnection);
  const { port, addresses } = await listenBoth(app, v4, v6, opts.port);
  hosts = allowedHosts(port);
  // Once serve listens (a refused port must not leave a worker running). When it cannot start, the
  // token service still runs; the gateway's paths answer API_ROUTE_NOT_FOUND and the log says why.
  const gateway = new LazyGateway(app, (p) => source.token(p));
  await gateway.open();
  ctx.gateway = gateway;

  const background =
    opts.checkIntervalMs > 0 ? new BackgroundRefresher(source, backoff, { intervalMs: opts.checkIntervalMs, log: app.log, now: app.now }) : undefined;
  background?.start();
  app.log.log('info', 'serve.start', { port, addresses: addresses.join(','), checkIntervalMs: opts.checkIntervalMs, peerCheck: peers.kind });
  if (peers.kind === 'uid' && !canRead(PROC_TCP)) {
    // Fail closed, but say why every connection is closed.
    app.log.log('error', 'serve.peer-table-unreadable', { file: PROC_TCP, effect: 'every connection is closed unanswered' });
  }
  if (peers.unavailable) {
    // Say why: where it cannot be asked (macOS without libproc) the client key's proof alone keeps
    // other users out; on Windows every connection is closed instead.
    app.log.log(peers.kind === 'none' ? 'warn' : 'error', 'serve.peer-check-unavailable', { reason: peers.unavailable.slice(0, 300) });
  }

  return {
    port,
    addresses,
    peerCheck: peers.kind,
    async close() {
      await background?.stop();
      await Promise.all([close(v4), close(v6)]);
      await gateway.close();
      await source.idle();
      await audit.flush();
      refusals.close();
      app.log.log('info', 'serve.stop', { port });
    },
  };
}
