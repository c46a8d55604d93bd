/**
 * The stdio mode Chrome starts. Every frame gets exactly one answer: a result, or a typed
 * error (bad JSON, bad shape, failure). Nothing a caller sends can crash the process; a frame
 * whose length is over the cap breaks the stream, so the host answers once and exits.
 */
import type { Readable, Writable } from 'node:stream';
import { AppError } from '#shared/errors.js';
import { MAX_TO_BROWSER_BYTES } from '#shared/protocol/constants.js';
import { parseRequest } from '#shared/protocol/requests.js';
import type { Response } from '#shared/protocol/results.js';
import type { App } from '../app.js';
import { FrameReader, encodeFrame, type Frame } from './framing.js';
import { handle } from './handlers.js';
import { isAllowedOrigin } from './origin.js';

export interface NativeIo {
  input: Readable;
  output: Writable;
}

function idOf(value: unknown): string | null {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = value.id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 64) return id;
  }
  return null;
}

function failure(id: string | null, e: unknown): Response {
  const err = AppError.from(e);
  return { id, ok: false, error: err.toPayload() };
}

/** Writes a frame; resolves once it is handed to the OS (or the output failed). */
function writeFrame(output: Writable, frame: Buffer): Promise<void> {
  return new Promise<void>((resolve) => output.write(frame, () => resolve()));
}

/** Answers once with `error` (id null), ignores the rest of the input, and resolves with `exitCode` once the answer is out. */
export async function refuseNative(io: NativeIo, error: AppError, exitCode = error.exitCode): Promise<number> {
  const out = writeFrame(io.output, encodeFrame(failure(null, error)));
  io.input.resume();
  await out;
  return exitCode;
}

/** Resolves with the exit code when the input ends and every answer is written. */
export function runNative(app: App, origin: string | undefined, allowedIds: readonly string[], io: NativeIo): Promise<number> {
  if (!isAllowedOrigin(origin, allowedIds)) {
    app.log.log('warn', 'native.origin-refused', { origin: origin?.slice(0, 100) });
    return refuseNative(io, new AppError('ORIGIN_NOT_ALLOWED', origin?.slice(0, 100)), 1);
  }

  /** The last answer's write: the host ends once it is out. */
  let written = Promise.resolve();
  const send = (r: Response) => {
    const frame = encodeFrame(r);
    written = writeFrame(io.output, frame.length - 4 > MAX_TO_BROWSER_BYTES ? encodeFrame(failure(r.id, new AppError('MESSAGE_TOO_LARGE', 'answer'))) : frame);
  };

  const reader = new FrameReader();
  const inFlight = new Set<Promise<void>>();
  let counted = 0;

  const onFrame = (frame: Frame) => {
    counted++;
    if (frame.kind === 'too-large') {
      app.log.log('warn', 'native.frame-too-large', { bytes: frame.bytes });
      send(failure(null, new AppError('MESSAGE_TOO_LARGE', `${frame.bytes} bytes`)));
      io.input.unpipe(reader);
      io.input.resume();
      reader.end();
      return;
    }
    if (frame.kind === 'bad-json') {
      send(failure(null, new AppError('BAD_REQUEST', 'not JSON')));
      return;
    }
    const parsed = parseRequest(frame.value);
    if (!parsed.success) {
      send(failure(idOf(frame.value), new AppError('BAD_REQUEST', `${parsed.issue.path}: ${parsed.issue.code}`)));
      return;
    }
    const req = parsed.data;
    const started = Date.now();
    const p = handle(app, req)
      .then(
        (result) => send({ id: req.id, ok: true, result }),
        (e: unknown) => {
          if (!(e instanceof AppError)) app.log.log('error', 'native.internal', { type: req.type, error: (e as Error)?.name });
          send(failure(req.id, e));
        },
      )
      .finally(() => {
        app.log.log('debug', 'native.request', { type: req.type, ms: Date.now() - started });
        inFlight.delete(p);
      });
    inFlight.add(p);
  };

  return new Promise<number>((resolve) => {
    reader.on('data', onFrame);
    const ended = async () => {
      while (inFlight.size) await Promise.all([...inFlight]);
      if (reader.pendingBytes) app.log.log('warn', 'native.truncated-frame', { bytes: reader.pendingBytes });
      app.log.log('debug', 'native.end', { frames: counted });
      await written;
      resolve(0);
    };
    reader.on('end', () => void ended());
    io.input.on('error', () => reader.end());
    io.input.pipe(reader);
  });
}
