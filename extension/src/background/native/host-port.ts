/**
 * The one owner of native messaging. Each request is its own host process (sendNativeMessage):
 * nothing has to survive a service-worker restart, and a crashed host affects one request only.
 * A `hello` handshake checks the protocol once per worker life; every call is size-checked
 * before it is posted, has a timeout, and its answer is parsed with the shared schemas.
 */
import browser from 'webextension-polyfill';
import type * as z from 'zod/mini';
import { AppError } from '../../../../shared/src/errors.js';
import {
  MAX_FROM_BROWSER_BYTES,
  NATIVE_HOST_NAME,
  PROTOCOL_VERSION,
  parseRequest,
  responseSchema,
  resultSchemas,
  type Request,
  type RequestType,
  type ResultOf,
} from '../../../../shared/src/protocol/messages.js';
import { ExtError, HostError } from '../../shared/errors.js';
import { installCommand } from '../../shared/install-command.js';

export type HostRequest<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'id'>;
/** Any request without its id; `request()` infers the answer's type from the literal `type`. */
export type AnyHostRequest = { [T in RequestType]: HostRequest<T> }[RequestType];

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
};

const sendNative = (message: unknown): Promise<unknown> => browser.runtime.sendNativeMessage(NATIVE_HOST_NAME, message);

/** Chrome reports native messaging failures only as message text; these are its fixed strings. */
function transportError(e: unknown): ExtError {
  const text = e instanceof Error ? e.message : String(e);
  if (/not found/i.test(text)) return new ExtError('HOST_MISSING', [installCommand()]);
  // The running ID, not the unpacked build's fixed one: a store-installed copy has its own.
  if (/forbidden/i.test(text)) return new ExtError('HOST_FORBIDDEN', [`${installCommand()} --extension-id ${browser.runtime.id}`]);
  return new ExtError('HOST_FAILED', [], text.slice(0, 200));
}

function withTimeout<T>(p: Promise<T>, ms: number, type: RequestType): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExtError('HOST_TIMEOUT', [String(Math.round(ms / 1000))], type)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class NativeHost {
  private handshake: Promise<void> | undefined;

  async request<R extends AnyHostRequest>(req: R): Promise<ResultOf<R['type']>> {
    await this.hello();
    return this.call(req);
  }

  private hello(): Promise<void> {
    this.handshake ??= this.call({ type: 'hello', protocol: PROTOCOL_VERSION }).then((r) => {
      if (r.protocol !== PROTOCOL_VERSION) throw new ExtError('HOST_OUTDATED', [r.hostVersion]);
    });
    const attempt = this.handshake;
    // A failed handshake is tried again next time: the user may install the host meanwhile.
    attempt.catch(() => {
      if (this.handshake === attempt) this.handshake = undefined;
    });
    return attempt;
  }

  private async call<R extends AnyHostRequest>(req: R): Promise<ResultOf<R['type']>> {
    const id = crypto.randomUUID();
    const message = { id, ...req };
    if (!parseRequest(message).success) throw new ExtError('EXTENSION_FAILED', [], `invalid ${req.type} request`);
    if (new TextEncoder().encode(JSON.stringify(message)).length > MAX_FROM_BROWSER_BYTES) {
      throw new HostError(new AppError('MESSAGE_TOO_LARGE', req.type).toPayload());
    }
    let raw: unknown;
    try {
      raw = await withTimeout(sendNative(message), TIMEOUT_MS[req.type] ?? DEFAULT_TIMEOUT_MS, req.type);
    } catch (e) {
      throw e instanceof ExtError ? e : transportError(e);
    }
    const res = responseSchema.safeParse(raw);
    if (!res.success) throw new ExtError('HOST_BAD_ANSWER', [], req.type);
    // The host answers null only when it could not read the request (or refused the caller).
    if (res.data.id !== id && !(res.data.id === null && !res.data.ok)) throw new ExtError('HOST_BAD_ANSWER', [], `${req.type}: id`);
    if (!res.data.ok) throw new HostError(res.data.error);
    const schema: z.ZodMiniType<unknown> = resultSchemas[req.type];
    const result = schema.safeParse(res.data.result);
    if (!result.success) throw new ExtError('HOST_BAD_ANSWER', [], `${req.type}: ${result.error.issues[0]?.path.join('.') ?? 'shape'}`);
    // resultSchemas[T] parses exactly ResultOf<T>; TypeScript cannot follow the indexed lookup.
    return result.data as ResultOf<R['type']>;
  }
}

export const host = new NativeHost();
