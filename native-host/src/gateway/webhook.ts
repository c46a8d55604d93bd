/**
 * The optional webhook: every job change a worker writes is POSTed as JSON (the job as
 * GET /v1/jobs/{job} shows it) to an http address on this computer, and nowhere else: a job
 * names CIFs and ANAF's ids, which stay on the machine. It is a nudge, not a queue: a change the
 * ERP missed (it was down) is read from GET /v1/jobs/{job}; deliveries are not retried.
 */
import http from 'node:http';
import { AppError } from '#shared/errors.js';
import type { Logger } from '../log/logger.js';
import { jobView } from './service.js';
import type { JobRecord } from './types.js';

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

export function checkWebhook(url: string): URL {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  if (!u || u.protocol !== 'http:' || !LOOPBACK.has(u.hostname) || u.username || u.password) throw new AppError('GATEWAY_WEBHOOK_REFUSED', url.slice(0, 200));
  return u;
}

export function webhook(url: string, log: Logger): (job: JobRecord) => void {
  const target = checkWebhook(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return (job) => {
    const body = Buffer.from(JSON.stringify({ event: 'job', ...jobView(job) }));
    const req = http.request(
      target,
      { method: 'POST', agent, timeout: 5_000, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        if ((res.statusCode ?? 0) >= 300) log.log('warn', 'gateway.webhook-refused', { status: res.statusCode ?? 0 });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', (e: NodeJS.ErrnoException) => log.log('warn', 'gateway.webhook-failed', { error: e.code ?? e.name }));
    req.end(body);
  };
}
