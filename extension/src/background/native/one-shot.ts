/**
 * One host process for one message (sendNativeMessage), for what is not worth a kept port:
 * see host-port.ts for where it is used and why. Same checks as the port (wire.ts).
 */
import browser from 'webextension-polyfill';
import { NATIVE_HOST_NAME, responseSchema, type ResultOf } from '#shared/protocol/messages.js';
import { ExtError } from '../../shared/errors.js';
import { answerTooLarge, outgoing, readResult, timeoutError, timeoutFor, transportError, type AnyHostRequest } from './wire.js';

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function oneShot<R extends AnyHostRequest>(req: R): Promise<ResultOf<R['type']>> {
  const message = outgoing(req, crypto.randomUUID());
  let raw: unknown;
  try {
    raw = await withTimeout(browser.runtime.sendNativeMessage(NATIVE_HOST_NAME, message), timeoutFor(req.type), () => timeoutError(req.type));
  } catch (e) {
    throw e instanceof ExtError ? e : transportError(e instanceof Error ? e.message : String(e));
  }
  if (answerTooLarge(raw)) throw new ExtError('HOST_BAD_ANSWER', [], `${req.type}: too large`);
  const res = responseSchema.safeParse(raw);
  if (!res.success) throw new ExtError('HOST_BAD_ANSWER', [], req.type);
  // The host answers null only when it could not read the request (or refused the caller).
  if (res.data.id !== message.id && !(res.data.id === null && !res.data.ok)) throw new ExtError('HOST_BAD_ANSWER', [], `${req.type}: id`);
  return readResult<R['type']>(req.type, res.data);
}
