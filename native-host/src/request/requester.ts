/**
 * The requester's side of request links as the extension and the local API reach it (the CLI
 * has its own commands over the same functions): the machine's requests file opened for one
 * message and closed after it, the answers shaped for the wire (never a private key or a state
 * hash), and an import that first learns whose profile the answer is for, so that a caller with
 * a narrower right (an ERP key scoped to some profiles) is refused before the store is touched.
 */
import { AppError } from '#shared/errors.js';
import type { RequestCreated, RequestImported, RequestSummary } from '#shared/protocol/results.js';
import { answerRequestId } from '#shared/request/crypto.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { PendingRequests, type PendingRequest } from './pending-store.js';
import { cancelLinkRequest, createLinkRequest, importAnswer } from './requests.js';

/** Where the machine's requests live: the App (PendingRequests.open's own argument). */
export type RequestsAt = Parameters<typeof PendingRequests.open>[0];

/** The requests file for one call: open, used, closed (also when the call throws). */
export async function withPending<T>(at: RequestsAt, use: (pending: PendingRequests) => Promise<T> | T): Promise<T> {
  const pending = PendingRequests.open(at);
  try {
    return await use(pending);
  } finally {
    pending.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

export function summaryOf(r: PendingRequest): RequestSummary {
  return {
    id: r.id,
    profile: r.profile,
    ...(r.note === undefined ? {} : { note: r.note }),
    status: r.status,
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    ...(r.certificateSerial === undefined ? {} : { certificateSerial: r.certificateSerial }),
  };
}

/** The store and the log, as the caller has them (the App, or serve's TokenDeps). */
export interface RequesterDeps {
  store: Store;
  log: Logger;
  now: () => number;
}

export interface CreateInput {
  profile: string;
  validMs: number;
  note?: string | undefined;
  passphrase?: string | undefined;
}

export async function createRequestLink(at: RequestsAt, deps: RequesterDeps, input: CreateInput): Promise<RequestCreated> {
  const made = await withPending(at, (pending) =>
    createLinkRequest(deps.store, pending, {
      profile: input.profile,
      validMs: input.validMs,
      note: input.note,
      passphrase: input.passphrase,
      now: deps.now(),
    }),
  );
  deps.log.log('info', 'request.created', { profile: input.profile, request: made.id, passphrase: input.passphrase !== undefined });
  return { id: made.id, link: made.link, expiresAt: iso(made.expiresAt) };
}

export function listRequests(at: RequestsAt): Promise<RequestSummary[]> {
  return withPending(at, (pending) => pending.list().map(summaryOf));
}

export async function cancelRequest(at: RequestsAt, log: Logger, id: string): Promise<void> {
  await withPending(at, (pending) => cancelLinkRequest(pending, id));
  log.log('info', 'request.cancelled', { request: id });
}

/**
 * Imports an answer. `allowed` (an ERP key's scope) is asked about the request's profile, read
 * from the requests file by the answer's request id, before the answer is opened or the store
 * read; a refusal throws API_PROFILE_NOT_ALLOWED and `refused` hears of it (for the audit).
 */
export async function importRequestAnswer(
  at: RequestsAt,
  deps: RequesterDeps,
  text: string,
  scope?: { allowed(profile: string): boolean; refused(profile: string): void },
): Promise<RequestImported> {
  const id = answerRequestId(text);
  return withPending(at, async (pending) => {
    const request = pending.get(id);
    if (!request) throw new AppError('REQUEST_FOREIGN', 'no request with this id was made here');
    if (scope && !scope.allowed(request.profile)) {
      scope.refused(request.profile);
      // No profile name in the answer: the client did not name one, and may not learn another's (the audit has it).
      throw new AppError('API_PROFILE_NOT_ALLOWED', 'the request is for a profile this key may not use');
    }
    const done = await importAnswer(deps.store, pending, text, deps.now(), deps.log);
    return { profile: done.request.profile, requestId: done.request.id, generation: done.record.generation, certificate: certificateInfo(done.certificate) };
  });
}

/** The certificate as the store gives it, without the keys it leaves undefined (the wire schema is strict about types). */
function certificateInfo(c: RequestImported['certificate']): RequestImported['certificate'] {
  const out: RequestImported['certificate'] = {};
  for (const k of ['subject', 'serialHex', 'issuer', 'roles', 'sha256', 'source', 'label'] as const) {
    if (c[k] !== undefined) (out as Record<string, unknown>)[k] = c[k];
  }
  return out;
}
