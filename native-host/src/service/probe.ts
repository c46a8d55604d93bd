/**
 * Is a token service answering on this port? `/healthz` needs no key and answers
 * { "status": "ok", "version": … }: enough to tell it from most other programs on the port
 * (not from one that imitates it: only a proof made with a client key tells that).
 */
import http from 'node:http';
import { healthResponseSchema } from '../serve/api.js';

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
          resolve(res.statusCode === 200 && healthResponseSchema.safeParse(JSON.parse(body)).success);
        } catch {
          resolve(false);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
