/** An ERP calling serve's gateway endpoints: the client key's proof (docs/erp-api.md), a body when there is one. */
import http from 'node:http';
import { authorizationFor } from '../../native-host/src/serve/client-keys.js';
import { challenge, type ClientCredential } from './serve-process.js';

export interface GatewayAnswer<T = unknown> {
  status: number;
  json: T;
  headers: http.IncomingHttpHeaders;
}

export async function gw<T = Record<string, unknown>>(
  port: number,
  as: ClientCredential,
  method: string,
  path: string,
  body?: string | Buffer,
): Promise<GatewayAnswer<T>> {
  const host = `127.0.0.1:${port}`;
  const nonce = await challenge(port);
  const headers: Record<string, string> = { host, authorization: authorizationFor(as.name, as.key, nonce, host, undefined) };
  const data = body === undefined ? undefined : Buffer.from(body);
  if (data) {
    headers['content-type'] = 'application/xml';
    headers['content-length'] = String(data.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as T, headers: res.headers });
        } catch {
          reject(new Error(`${method} ${path}: ${res.statusCode} not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}
