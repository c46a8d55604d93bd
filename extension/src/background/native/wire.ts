/**
 * What every native message goes through, over the kept port or as a one-shot: a request is
 * checked against the shared schema and the host's frame cap before it is posted (over a kept
 * port an oversize frame would make the host refuse it and exit, failing every other request);
 * an answer is checked for its size, its envelope and its type's result schema.
 */
import browser from 'webextension-polyfill';
import type * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import {
  MAX_FROM_BROWSER_BYTES,
  MAX_TO_BROWSER_BYTES,
  parseRequest,
  resultSchemas,
  type Request,
  type RequestType,
  type ResultOf,
} from '#shared/protocol/messages.js';
import { ExtError, HostError } from '../../shared/errors.js';
import { installCommand } from '../../shared/install-command.js';

type HostRequest<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'id'>;
/** Any request without its id; `request()` infers the answer's type from the literal `type`. */
export type AnyHostRequest = { [T in RequestType]: HostRequest<T> }[RequestType];
export type Outgoing = AnyHostRequest & { id: string };

const DEFAULT_TIMEOUT_MS = 20_000;
/** Token calls wait for ANAF and maybe for another process's refresh lease (60 s in the host). */
const TIMEOUT_MS: Partial<Record<RequestType, number>> = {
  hello: 15_000,
  'authorize.complete': 90_000,
  'token.refresh': 90_000,
  'token.revoke': 90_000,
  /** One call to ANAF's hello; the host gives up on it after 15 s by default. */
  'token.check': 45_000,
  'refresh.due': 300_000,
  /** Saving the tokens may wait for another process's refresh lease, as a refresh does. */
  'request.import': 90_000,
};

export function timeoutFor(type: RequestType): number {
  return TIMEOUT_MS[type] ?? DEFAULT_TIMEOUT_MS;
}

export function timeoutError(type: RequestType): ExtError {
  return new ExtError('HOST_TIMEOUT', [String(Math.round(timeoutFor(type) / 1000))], type);
}

const utf8Length = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/** The request with its id, or a throw if the host would refuse it (shape) or could not read it (size). */
export function outgoing<R extends AnyHostRequest>(req: R, id: string): R & { id: string } {
  const message = { id, ...req };
  if (!parseRequest(message).success) throw new ExtError('EXTENSION_FAILED', [], `invalid ${req.type} request`);
  if (utf8Length(message) > MAX_FROM_BROWSER_BYTES) throw new HostError(new AppError('MESSAGE_TOO_LARGE', req.type).toPayload());
  return message;
}

/** Chrome refuses host answers over 1 MB itself; checked again so that no path depends on it. */
export function answerTooLarge(raw: unknown): boolean {
  return utf8Length(raw) > MAX_TO_BROWSER_BYTES;
}

/** A parsed answer's payload for its request type: the result, or the typed error it carries. */
export function readResult<T extends RequestType>(type: T, answer: { ok: true; result: unknown } | { ok: false; error: HostError['payload'] }): ResultOf<T> {
  if (!answer.ok) throw new HostError(answer.error);
  const schema: z.ZodMiniType<unknown> = resultSchemas[type];
  const result = schema.safeParse(answer.result);
  if (!result.success) throw new ExtError('HOST_BAD_ANSWER', [], `${type}: ${result.error.issues[0]?.path.join('.') ?? 'shape'}`);
  // resultSchemas[T] parses exactly ResultOf<T>; TypeScript cannot follow the indexed lookup.
  return result.data as ResultOf<T>;
}

/** Chrome reports native messaging failures only as message text; these are its fixed strings. */
export function transportError(text: string): ExtError {
  if (/not found/i.test(text)) return new ExtError('HOST_MISSING', [installCommand()]);
  // The running ID, not the unpacked build's fixed one: a store-installed copy has its own.
  if (/forbidden/i.test(text)) return new ExtError('HOST_FORBIDDEN', [`${installCommand()} --extension-id ${browser.runtime.id}`]);
  return new ExtError('HOST_FAILED', [], text.slice(0, 200));
}

/** The version a host must speak, and what the user is told when it does not. */
export function versionMismatch(hostVersion: string): ExtError {
  return new ExtError('HOST_OUTDATED', [hostVersion.slice(0, 40), browser.runtime.getManifest().version]);
}
