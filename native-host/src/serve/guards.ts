/**
 * What a request must look like before its key is even looked at. Loopback binding alone is
 * not enough: a web page can make the browser send requests to 127.0.0.1 under its own DNS
 * name (DNS rebinding), and it always sends an Origin header with them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../../../shared/src/errors.js';

/** The Host values a local program uses for this port. */
export function allowedHosts(port: number): ReadonlySet<string> {
  return new Set([`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`]);
}

export function checkHeaders(headers: IncomingHttpHeaders, hosts: ReadonlySet<string>): AppError | undefined {
  const host = headers.host?.toLowerCase();
  if (host === undefined || !hosts.has(host)) {
    return new AppError('HOST_NOT_ALLOWED', host === undefined ? 'no Host header' : `Host: ${host.slice(0, 100)}`);
  }
  // Any Origin, even "null": only browsers send it, and no web page may use this service.
  if (headers.origin !== undefined) return new AppError('WEB_ORIGIN_REFUSED');
  return undefined;
}
