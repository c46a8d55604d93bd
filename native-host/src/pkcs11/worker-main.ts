/**
 * The isolated PKCS#11 worker: one request on stdin, one answer on stdout, then exit.
 * The parent kills it when a driver hangs and survives it when a driver crashes.
 */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { usePrivateUmask } from '../boot/umask.js';
import { checkPin, inspectModule, pkcs11Failure } from './inventory.js';

export const workerRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('inspect'), module: z.string().check(z.minLength(1), z.maxLength(1024)) }),
  z.object({
    op: z.literal('pin-check'),
    module: z.string().check(z.minLength(1), z.maxLength(1024)),
    tokenSerial: z.string().check(z.maxLength(64)),
    certId: z.string().check(z.regex(/^[0-9a-f]*$/), z.maxLength(256)),
    pin: z.string().check(z.minLength(1), z.maxLength(64)),
  }),
]);
export type WorkerRequest = z.infer<typeof workerRequestSchema>;

async function main(): Promise<void> {
  // A driver may write files of its own (logs, caches): private to the user, as everything we make.
  usePrivateUmask();
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  let answer: unknown;
  try {
    const req = workerRequestSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    answer = { ok: true, result: req.op === 'inspect' ? inspectModule(req.module) : checkPin(req) };
  } catch (e) {
    answer = { ok: false, error: (e instanceof z.core.$ZodError || e instanceof SyntaxError ? new AppError('BAD_REQUEST') : pkcs11Failure(e)).toPayload() };
  }
  process.stdout.write(JSON.stringify(answer));
}

// Not awaited at the top level: the single executable carries this file as a CommonJS asset.
void main();
