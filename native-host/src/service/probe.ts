/**
 * Is a token service answering on this port? It refuses a request without a key with our own
 * JSON error, and that answer is enough to tell it from any other program on the port.
 */
import http from 'node:http';
import { errorResponseSchema } from '../serve/api.js';

export function probeServe(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 65_536) body += d;
      });
      res.on('end', () => {
        try {
          const parsed = errorResponseSchema.safeParse(JSON.parse(body));
          resolve(res.statusCode === 200 || (parsed.success && parsed.data.error.code === 'API_KEY_INVALID'));
        } catch {
          resolve(false);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
