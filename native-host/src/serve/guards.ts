/**
 * What a request must look like before its proof is even looked at. Loopback binding alone is
 * not enough: a web page can make the browser send requests to 127.0.0.1 under its own DNS
 * name (DNS rebinding). Browsers mark their requests (Origin, Sec-Fetch-*, Referer), programs do
 * not: a request with any of these is refused before anything about it is counted.
 */
import { AppError } from '../../../shared/src/errors.js';

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

/** `name` in any case, without building a lower-case copy for the usual spellings. */
const is = (name: string, lower: string, canonical: string): boolean =>
  name === canonical || name === lower || (name.length === lower.length && name.toLowerCase() === lower);

/**
 * The headers the API reads, from the parser's raw list: building `req.headers` (every
 * header, into a new object) cost a busy service more than its guards. A repeated Host,
 * Authorization or Content-Length counts by its first value, as in `req.headers`, which drops
 * the others (a test holds the two side by side); of Origin, Sec-Fetch-*, Referer and
 * Transfer-Encoding only presence matters.
 */
export function apiHeaders(raw: readonly string[]): ApiHeaders {
  const h: ApiHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (name.length) {
      case 4:
        if (h.host === undefined && is(name, 'host', 'Host')) h.host = value;
        break;
      case 6:
        if (h.origin === undefined && is(name, 'origin', 'Origin')) h.origin = value;
        break;
      case 7:
        if (h.browser === undefined && is(name, 'referer', 'Referer')) h.browser = name;
        break;
      case 13:
        if (h.authorization === undefined && is(name, 'authorization', 'Authorization')) h.authorization = value;
        break;
      case 14:
        if (h['content-length'] === undefined && is(name, 'content-length', 'Content-Length')) h['content-length'] = value;
        // Sec-Fetch-Site, -Mode, -Dest and -User are all 14 characters long.
        else if (h.browser === undefined && name.toLowerCase().startsWith('sec-fetch-')) h.browser = name;
        break;
      default:
        // Longer Sec-Fetch-* headers (Sec-Fetch-Storage-Access, …).
        if (h.browser === undefined && name.length > 14 && (name.charCodeAt(0) | 32) === 115 && name.toLowerCase().startsWith('sec-fetch-')) h.browser = name;
      case 17:
        if (h['transfer-encoding'] === undefined && is(name, 'transfer-encoding', 'Transfer-Encoding')) h['transfer-encoding'] = value;
        break;
    }
  }
  return h;
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
