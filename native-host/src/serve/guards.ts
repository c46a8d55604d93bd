/**
 * What a request must look like before its proof is even looked at. Loopback binding alone is
 * not enough: a web page can make the browser send requests to 127.0.0.1 under its own DNS
 * name (DNS rebinding). Browsers mark their requests (Origin, Sec-Fetch-*, Referer), programs do
 * not: a request with any of these is refused before anything about it is counted.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '#shared/errors.js';

/** The Host values a local program uses for this port. */
export function allowedHosts(port: number): ReadonlySet<string> {
  return new Set([`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`]);
}

/** The request headers the API looks at. */
export interface ApiHeaders {
  host?: string | undefined;
  origin?: string | undefined;
  /** Any Sec-Fetch-* header, or Referer: only browsers send them. */
  browser?: string | undefined;
  authorization?: string | undefined;
  'content-length'?: string | undefined;
  'transfer-encoding'?: string | undefined;
}

/**
 * The headers the API reads. A repeated Host, Authorization or Content-Length counts by its
 * first value (Node keeps the first); of Origin, Sec-Fetch-*, Referer and Transfer-Encoding only
 * presence matters.
 */
export function apiHeaders(h: IncomingHttpHeaders): ApiHeaders {
  let browser: string | undefined = h.referer !== undefined ? 'Referer' : undefined;
  if (browser === undefined) for (const name in h) if (name.startsWith('sec-fetch-')) browser = name;
  return {
    host: h.host,
    origin: h.origin,
    browser,
    authorization: h.authorization,
    'content-length': h['content-length'],
    'transfer-encoding': h['transfer-encoding'],
  };
}

export function checkHeaders(headers: Pick<ApiHeaders, 'host' | 'origin' | 'browser'>, hosts: ReadonlySet<string>): AppError | undefined {
  const sent = headers.host;
  const host = sent === undefined || hosts.has(sent) ? sent : sent.toLowerCase();
  if (host === undefined || !hosts.has(host)) {
    return new AppError('HOST_NOT_ALLOWED', host === undefined ? 'no Host header' : `Host: ${host.slice(0, 100)}`);
  }
  // Any Origin, even "null": only browsers send it, and no web page may use this service.
  if (headers.origin !== undefined) return new AppError('WEB_ORIGIN_REFUSED');
  if (headers.browser !== undefined) return new AppError('WEB_ORIGIN_REFUSED', headers.browser.slice(0, 40));
  return undefined;
}
