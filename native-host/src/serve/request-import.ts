/**
 * `POST /v1/requests/import`: an ERP imports the certificate holder's answer to a request link
 * itself (docs/request-links.md). The body is the answer as text (text/plain; mail text around
 * it is fine) or JSON `{ "answer": "ara1.…" }`, at most 64 KiB. A key scoped to some profiles may
 * import only for those: the request's profile is read from the requests file by the answer's
 * request id, and checked, before the answer is opened or the store touched.
 */
import type { IncomingMessage } from 'node:http';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { profileNameSchema } from '#shared/schemas/profile.js';
import { importRequestAnswer, type RequestsAt, type RequesterDeps } from '../request/requester.js';

export const IMPORT_PATH = '/v1/requests/import';

/** An answer is 1.5–2.5 KB with tokens of ANAF's size (packed: answer-codec.ts); mail text around it may come along. */
export const MAX_ANSWER_BODY_BYTES = 64 * 1024;

export function isImportUrl(rawUrl: string | undefined): boolean {
  return (rawUrl ?? '').split('?')[0] === IMPORT_PATH;
}

/** What the API answers (docs/erp-api.md). */
export const requestImportResponseSchema = z.object({
  profile: profileNameSchema(),
  requestId: z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/)),
  generation: z.int(),
  certificateSerial: z.optional(z.string()),
});
export type RequestImportResponse = z.infer<typeof requestImportResponseSchema>;

export interface ImportScope {
  allowed(profile: string): boolean;
  refused(profile: string): void;
}

export interface RequestImports {
  importAnswer(text: string, scope: ImportScope): Promise<RequestImportResponse>;
}

export function requestImports(at: RequestsAt, deps: RequesterDeps): RequestImports {
  return {
    async importAnswer(text, scope) {
      const done = await importRequestAnswer(at, deps, text, scope);
      return {
        profile: done.profile,
        requestId: done.requestId,
        generation: done.generation,
        ...(done.certificate.serialHex === undefined ? {} : { certificateSerial: done.certificate.serialHex }),
      };
    },
  };
}

/** A refusal of the body itself, with the HTTP status it answers with. */
export class BodyRefused extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    readonly error: AppError,
  ) {
    super(error.code);
  }
}

const jsonBodySchema = z.object({ answer: z.string() });

function bodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const tooLarge = () => new BodyRefused(413, new AppError('REQUEST_TAMPERED', `larger than ${MAX_ANSWER_BODY_BYTES} bytes: not an answer`));
    if (Number.isFinite(declared) && declared > MAX_ANSWER_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ANSWER_BODY_BYTES) {
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new BodyRefused(400, new AppError('BAD_REQUEST', 'the request body was cut off'))));
  });
}

/** The answer's text from the body: text/plain (or no type), or JSON { answer }. */
export async function readAnswerBody(req: IncomingMessage): Promise<string> {
  const type = (req.headers['content-type'] ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  const json = type === 'application/json';
  if (!json && type !== 'text/plain') throw new BodyRefused(415, new AppError('BAD_REQUEST', 'Content-Type: text/plain or application/json'));
  const text = (await bodyBytes(req)).toString('utf8');
  if (!json) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BodyRefused(400, new AppError('BAD_REQUEST', 'the body is not JSON'));
  }
  const parsed = jsonBodySchema.safeParse(value);
  if (!parsed.success) throw new BodyRefused(400, new AppError('BAD_REQUEST', 'JSON body: { "answer": "ara1.…" }'));
  return parsed.data.answer;
}
