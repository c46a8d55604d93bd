/**
 * The loopback callback listener of `authorize --listen`: an HTTPS server on 127.0.0.1 and,
 * where IPv6 exists, ::1, waiting for the browser to be redirected to the profile's callback
 * path after the login with the USB key. The first answer from ANAF (a request to the callback
 * path carrying `code` or `error`) is handed to `complete` at once, the browser gets a short
 * ro/en page saying how it went, and the listener closes. Anything else (other paths: 404;
 * other methods: 405; another Host: 421; the callback path without an answer: 400) is refused
 * and the wait goes on, until `timeoutMs`.
 *
 * Nothing from a request's address (code, state) is logged: only the status it got.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import { AppError, messagesFor } from '#shared/errors.js';
import type { Logger } from '../log/logger.js';
import { redact } from '../log/logger.js';
import { IPV6_ABSENT, errnoOf, listenOn } from '../net/loopback.js';

export interface LoopbackCallbackOptions {
  /** 0 lets the OS choose (tests of this module). */
  port: number;
  /** The callback's path, e.g. "/anaf/callback". */
  path: string;
  /** The registered callback's origin: the URL handed to `complete` is built on it. */
  origin: string;
  tls: { certPem: string; keyPem: string };
  timeoutMs: number;
  log: Logger;
  /** Finishes the authorization with the callback URL; its failure is the outcome. */
  complete(callbackUrl: string): Promise<void>;
}

export interface LoopbackCallback {
  port: number;
  addresses: string[];
  /** Settles once: after the first answer was handled and the browser got its page, or at the time limit. */
  outcome: Promise<void>;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, ro: string, en: string, extra = ''): string {
  return (
    '<!doctype html><html lang="ro"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    `<title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}` +
    'p.en{color:#555}code{font-size:90%}</style></head><body>' +
    `<h1>${escapeHtml(title)}</h1><p lang="ro">${escapeHtml(ro)}</p><p class="en" lang="en">${escapeHtml(en)}</p>${extra}</body></html>`
  );
}

export const DONE_PAGE = page(
  'anaf-token: gata / done',
  'Autorizarea s-a încheiat și tokenul a fost salvat. Puteți închide această filă.',
  'The authorization is complete and the token is saved. You may close this tab.',
);

export function errorPage(err: AppError): string {
  const { ro, en } = messagesFor(err.code);
  const detail = err.detail ? `<p><code>${escapeHtml(redact(err.detail).slice(0, 300))}</code></p>` : '';
  return page(`anaf-token: eroare / error [${err.code}]`, ro, en, `${detail}<p>Vedeți terminalul. / See the terminal.</p>`);
}

const NOT_FOUND_PAGE = page(
  'anaf-token: 404',
  'Aici nu este nimic. anaf-token așteaptă redirecționarea de la ANAF după autentificare.',
  "Nothing here. anaf-token is waiting for ANAF's redirect after the login.",
);
const NOT_AN_ANSWER_PAGE = page(
  'anaf-token: 400',
  'Adresa nu conține un răspuns de la ANAF (code sau error). Autentificați-vă la ANAF cu adresa afișată în terminal.',
  'This address carries no answer from ANAF (code or error). Log in at ANAF with the URL shown in the terminal.',
);
const BUSY_PAGE = page(
  'anaf-token: 409',
  'Un răspuns de la ANAF este deja în lucru; rezultatul apare în terminal.',
  'An answer from ANAF is already being handled; the outcome shows in the terminal.',
);

function statusFor(err: AppError): number {
  if (err.exitCode === 2 || err.exitCode === 6) return 400;
  if (err.exitCode === 5) return 502;
  return 500;
}

function closeServer(server: https.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A port to suggest when the profile's callback is not on this computer. */
export const SUGGESTED_CALLBACK_PORT = 8443;

export interface CallbackTarget {
  /** Where to listen. */
  port: number;
  /** The port the browser is sent to (the registered one; differs from `port` only behind a forwarded port). */
  registeredPort: number;
  path: string;
  origin: string;
}

/**
 * Where `--listen` waits: the profile's callback must be https://localhost:PORT/... or
 * https://127.0.0.1:PORT/... (the browser goes there; the certificate covers only those names).
 */
export function callbackTarget(redirectUri: string, listenPort?: number): CallbackTarget {
  const u = new URL(redirectUri);
  const registeredPort = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const loopback = u.hostname === 'localhost' || u.hostname === '127.0.0.1';
  if (u.protocol !== 'https:' || !loopback) {
    const port = listenPort ?? (loopback && u.port ? u.port : SUGGESTED_CALLBACK_PORT);
    const suggested = `https://localhost:${port}${u.pathname === '/' ? '/anaf/callback' : u.pathname}`;
    throw new AppError(
      'CALLBACK_INVALID',
      `--listen needs a callback URL on this computer, https://localhost:PORT/... or https://127.0.0.1:PORT/..., but the profile has ${u.origin}${u.pathname}. ` +
        `Add ${suggested} to the application's callback URLs in ANAF's portal ("Editare profil OAuth"), then use it in a profile: ` +
        `anaf-token profile add --name NAME --client-id ID --redirect-uri ${suggested}`,
    );
  }
  return { port: listenPort ?? registeredPort, registeredPort, path: u.pathname, origin: u.origin };
}

export async function startLoopbackCallback(opts: LoopbackCallbackOptions): Promise<LoopbackCallback> {
  const { log } = opts;
  let state: 'waiting' | 'handling' | 'done' = 'waiting';
  let settle!: (e?: AppError) => void;
  const outcome = new Promise<void>((resolve, reject) => {
    settle = (e) => (e ? reject(e) : resolve());
  });
  // The caller may learn of a failure only after it awaited something else.
  outcome.catch(() => undefined);

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      ...headers,
    });
    res.end(body);
  };

  const servers: https.Server[] = [];
  // Set once the servers listen (below); closeAll may run before that.
  // eslint-disable-next-line prefer-const
  let timer: NodeJS.Timeout | undefined;
  const closeAll = async () => {
    if (timer) clearTimeout(timer);
    await Promise.all(servers.map(closeServer));
  };
  const finish = (e?: AppError) => {
    if (state === 'done') return;
    state = 'done';
    void closeAll().then(() => settle(e));
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    const target = req.url ?? '';
    // Only origin-form targets ("/path?query"); the URL is built on the registered origin.
    let url: URL | undefined;
    try {
      url = target.startsWith('/') ? new URL(opts.origin + target) : undefined;
    } catch {
      url = undefined;
    }
    let status: number;
    if (!LOOPBACK_HOSTS.has(host)) send(res, (status = 421), NOT_FOUND_PAGE);
    else if (url?.pathname !== opts.path) send(res, (status = 404), NOT_FOUND_PAGE);
    else if (req.method !== 'GET') send(res, (status = 405), NOT_FOUND_PAGE, { Allow: 'GET' });
    else if (!url.searchParams.has('code') && !url.searchParams.has('error')) send(res, (status = 400), NOT_AN_ANSWER_PAGE);
    else if (state !== 'waiting') send(res, (status = 409), BUSY_PAGE);
    else {
      state = 'handling';
      log.log('info', 'authorize.listen.answer');
      // The outcome is final once the browser has its page (or is gone, or slow to read it).
      const answer = (status: number, body: string, err?: AppError) => {
        const slow = setTimeout(() => finish(err), 5_000);
        finished(res, () => {
          clearTimeout(slow);
          finish(err);
        });
        send(res, status, body, { Connection: 'close' });
      };
      opts.complete(url.toString()).then(
        () => answer(200, DONE_PAGE),
        (e: unknown) => {
          const err = AppError.from(e, 'INTERNAL', (x) => redact(x.message).slice(0, 300));
          answer(statusFor(err), errorPage(err), err);
        },
      );
      return;
    }
    log.log('info', 'authorize.listen.refused', { status });
  };

  const newServer = () => {
    const s = https.createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem, maxHeaderSize: 16 * 1024 }, handler);
    s.headersTimeout = 10_000;
    s.requestTimeout = 30_000;
    s.keepAliveTimeout = 5_000;
    // A browser that does not trust the certificate yet drops the handshake, then asks the user.
    s.on('tlsClientError', () => undefined);
    servers.push(s);
    return s;
  };

  let port: number;
  try {
    port = await listenOn(newServer(), opts.port, '127.0.0.1');
  } catch (e) {
    await closeAll();
    throw new AppError('CALLBACK_LISTEN_FAILED', `127.0.0.1:${opts.port}: ${errnoOf(e)}`);
  }
  const addresses = ['127.0.0.1'];
  try {
    await listenOn(newServer(), port, '::1');
    addresses.push('::1');
  } catch (e) {
    const code = errnoOf(e);
    if (!IPV6_ABSENT.has(code)) {
      // "localhost" may resolve to ::1 first: another program there would get the browser's answer.
      await closeAll();
      throw new AppError('CALLBACK_LISTEN_FAILED', `[::1]:${port}: ${code}`);
    }
    log.log('info', 'authorize.listen.ipv6-skipped', { port, code });
  }

  timer = setTimeout(() => {
    if (state === 'waiting') finish(new AppError('CALLBACK_TIMEOUT', `no answer within ${Math.round(opts.timeoutMs / 1000)} s`));
  }, opts.timeoutMs);
  log.log('info', 'authorize.listen.started', { port, addresses: addresses.join(',') });

  return {
    port,
    addresses,
    outcome,
    async close() {
      if (state !== 'done') {
        state = 'done';
        await closeAll();
        settle(new AppError('CALLBACK_TIMEOUT', 'stopped'));
      }
    },
  };
}
