/**
 * One HTTPS exchange with ANAF's API, on node:https so that every failure can say how far the
 * request got: a failure before the request was fully written means ANAF cannot have acted on
 * it (ANAF_API_NOT_REACHED, safe to send again); after that, it may have (ANAF_API_ANSWER_LOST:
 * an upload must be looked for in the message list before it is sent again). Answers are read
 * up to a cap, redirects are not followed (the Bearer token must not travel on), and the whole
 * exchange has one deadline. No token, URL query or body goes into an error detail.
 */
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import tls from 'node:tls';
import { AppError } from '#shared/errors.js';

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface WireOptions {
  /** The deadline of the whole exchange, from connecting to the last byte of the answer. */
  timeoutMs?: number;
  /** One more CA to trust (PEM), for a test server; NODE_EXTRA_CA_CERTS does the same for the process. */
  extraCa?: string;
  /** Connection pool; a shared keep-alive agent otherwise. */
  agent?: https.Agent;
}

export interface WireRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Larger answers are refused (ANAF_API_BAD_ANSWER) without being read further. */
  maxAnswerBytes: number;
  /** Names the call in error details, e.g. "e-Factura upload". */
  what: string;
}

export interface WireAnswer {
  status: number;
  /** The media type, lowercase, without parameters ('' when absent). */
  mediaType: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const sharedAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

class Phase {
  written = false;
}

/** System error codes as the user can read them; anything else by its name only. */
function why(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown } | undefined;
  if (typeof err?.code === 'string') return err.code;
  return e instanceof Error ? e.name : 'unknown failure';
}

export function send(r: WireRequest, opts: WireOptions = {}): Promise<WireAnswer> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const phase = new Phase();
  return new Promise<WireAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (e: AppError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(e);
    };
    const lost = (cause: string): AppError =>
      phase.written
        ? new AppError('ANAF_API_ANSWER_LOST', `${r.what}: ${cause} after the request was sent`)
        : new AppError('ANAF_API_NOT_REACHED', `${r.what}: ${cause}`);

    const req = https.request(
      r.url,
      {
        method: r.method,
        agent: opts.agent ?? sharedAgent,
        ...(opts.extraCa ? { ca: [...tls.rootCertificates, opts.extraCa] } : {}),
        headers: {
          ...r.headers,
          ...(r.body ? { 'content-length': String(r.body.byteLength) } : {}),
        },
      },
      (res) => {
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (Number.isFinite(declared) && declared > r.maxAnswerBytes) {
          fail(new AppError('ANAF_API_BAD_ANSWER', `${r.what}: the answer announces ${declared} bytes, more than the ${r.maxAnswerBytes} expected`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > r.maxAnswerBytes) {
            fail(new AppError('ANAF_API_BAD_ANSWER', `${r.what}: the answer is larger than the ${r.maxAnswerBytes} bytes expected`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          if (!res.complete) {
            fail(lost('the connection closed in the middle of the answer'));
            return;
          }
          settled = true;
          clearTimeout(timer);
          const mediaType = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          resolve({ status: res.statusCode ?? 0, mediaType, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('aborted', () => fail(lost('the connection closed in the middle of the answer')));
        res.on('error', (e) => fail(lost(why(e))));
      },
    );
    const timer = setTimeout(() => fail(lost(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    req.on('finish', () => {
      phase.written = true;
    });
    req.on('error', (e) => fail(lost(why(e))));
    req.end(r.body ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : undefined);
  });
}
