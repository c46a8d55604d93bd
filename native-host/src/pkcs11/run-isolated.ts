/**
 * Runs a PKCS#11 operation in a child process with a deadline. Vendor drivers are native code
 * that can block forever (a token half-plugged, a driver waiting for a smart-card service) or
 * crash the process; neither may stop the host from answering the browser or the ERP.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { errorPayloadSchema } from '#shared/schemas/error-payload.js';
import { moduleReportSchema, pinCheckResultSchema, type ModuleReport, type PinCheckResult } from '#shared/schemas/pkcs11.js';
import type { WorkerRequest } from './worker-main.js';
import { workerArgs } from '../config/entry.js';

export const DEFAULT_PKCS11_TIMEOUT_MS = 20_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

function timeoutMs(): number {
  const v = Number(process.env.ANAF_TOKEN_PKCS11_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_PKCS11_TIMEOUT_MS;
}

function runWorker<T>(req: WorkerRequest, schema: z.ZodMiniType<T>, limitMs = timeoutMs()): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, workerArgs(), { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else chunks.push(d);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new AppError('PKCS11_ERROR', e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new AppError('PKCS11_TIMEOUT', `${path.basename(req.module)} gave no answer in ${limitMs} ms`));
      const answer = z
        .union([z.object({ ok: z.literal(true), result: schema }), z.object({ ok: z.literal(false), error: errorPayloadSchema })])
        .safeParse(safeJson(Buffer.concat(chunks).toString('utf8')));
      if (!answer.success) {
        return reject(new AppError('PKCS11_CRASHED', `${path.basename(req.module)}: ${signal ?? `exit ${code}`}`));
      }
      if (answer.data.ok) resolve(answer.data.result);
      else reject(AppError.fromPayload(answer.data.error));
    });
    child.stdin.on('error', () => {
      /* the worker died before reading: reported by 'close' */
    });
    child.stdin.end(JSON.stringify(req));
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function inspectModuleIsolated(module: string, limitMs?: number): Promise<ModuleReport> {
  return runWorker({ op: 'inspect', module }, moduleReportSchema, limitMs);
}

export function checkPinIsolated(req: Omit<Extract<WorkerRequest, { op: 'pin-check' }>, 'op'>): Promise<PinCheckResult> {
  return runWorker({ op: 'pin-check', ...req }, pinCheckResultSchema);
}
