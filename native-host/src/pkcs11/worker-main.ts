/**
 * The isolated PKCS#11 worker: one request on stdin, one answer on stdout, then exit.
 * The parent kills it when a driver hangs and survives it when a driver crashes.
 */
import * as z from 'zod';
import { AppError } from '../../../shared/src/index.js';
import { checkPin, inspectModule, toAppError } from './inventory.js';

export const workerRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('inspect'), module: z.string().min(1).max(1024) }),
  z.object({
    op: z.literal('pin-check'),
    module: z.string().min(1).max(1024),
    tokenSerial: z.string().max(64),
    certId: z.string().regex(/^[0-9a-f]*$/).max(256),
    pin: z.string().min(1).max(64),
  }),
]);
export type WorkerRequest = z.infer<typeof workerRequestSchema>;

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  let answer: unknown;
  try {
    const req = workerRequestSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    answer = { ok: true, result: req.op === 'inspect' ? inspectModule(req.module) : checkPin(req) };
  } catch (e) {
    answer = { ok: false, error: (e instanceof z.ZodError || e instanceof SyntaxError ? new AppError('BAD_REQUEST') : toAppError(e)).toPayload() };
  }
  process.stdout.write(JSON.stringify(answer));
}

await main();
