/**
 * Request links, the requester's side: make one for a profile, list and cancel them, import the
 * answer. The formats and the cryptography are shared with the extension (shared/src/request/).
 */
import type * as oauth from 'oauth4webapi';
import { AppError } from '#shared/errors.js';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { answerRequestId, createRequest, openAnswer } from '#shared/request/crypto.js';
import { IMPORT_GRACE_MS, MAX_VALID_MS, MIN_VALID_MS, joinLink } from '#shared/request/format.js';
import type { Logger } from '../log/logger.js';
import { tokenSet } from '../oauth/anaf-client.js';
import { certificateFromClaims } from '../oauth/token-claims.js';
import { hashState, type CertificateRecord, type TokenRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { PendingRequest, PendingRequests } from './pending-store.js';

export const EXTENSION_ORIGIN = `chrome-extension://${EXTENSION_ID}`;

export interface CreateOptions {
  profile: string;
  validMs: number;
  note?: string | undefined;
  passphrase?: string | undefined;
  now: number;
}

export interface CreatedRequest {
  id: string;
  link: string;
  expiresAt: number;
}

export async function createLinkRequest(store: Store, pending: PendingRequests, opts: CreateOptions): Promise<CreatedRequest> {
  if (opts.validMs < MIN_VALID_MS || opts.validMs > MAX_VALID_MS) {
    throw new AppError('BAD_REQUEST', `--valid: between ${MIN_VALID_MS / 60_000} minutes and ${MAX_VALID_MS / 3_600_000} hours`);
  }
  const profile = await store.getProfile(opts.profile);
  // The link names the profile's server: not one written into the vault behind anaf-token's back.
  await store.checkProfile(profile);
  const clientSecret = await store.clientSecret(profile);
  const expiresAt = opts.now + opts.validMs;
  const made = await createRequest({
    env: profile.env,
    clientId: profile.clientId,
    redirectUri: profile.redirectUri,
    clientSecret,
    expiresAt,
    note: opts.note,
    passphrase: opts.passphrase,
  });
  pending.add({
    id: made.keys.id,
    profile: profile.name,
    env: profile.env,
    clientId: profile.clientId,
    redirectUri: profile.redirectUri,
    stateHash: hashState(made.keys.state),
    publicKey: made.keys.publicKey,
    privateJwk: made.keys.privateJwk,
    note: opts.note,
    passphrase: opts.passphrase !== undefined,
    createdAt: opts.now,
    expiresAt,
  });
  return { id: made.keys.id, link: joinLink(EXTENSION_ORIGIN, made.parts), expiresAt };
}

export interface ImportedAnswer {
  request: PendingRequest;
  record: TokenRecord;
  certificate: CertificateRecord;
}

/** Why an answer to this request cannot be imported now, if it cannot. */
function refusal(r: PendingRequest, now: number): AppError | undefined {
  if (r.status === 'used') return new AppError('REQUEST_USED', `imported ${r.endedAt ? new Date(r.endedAt).toISOString() : ''}`.trim());
  if (r.status === 'cancelled') return new AppError('REQUEST_CANCELLED');
  if (r.status === 'expired' || now > r.expiresAt + IMPORT_GRACE_MS || !r.hasKey) {
    return new AppError('REQUEST_EXPIRED', `expired ${new Date(r.expiresAt).toISOString()}`);
  }
  return undefined;
}

/**
 * Checks an answer (its request is ours, open, not expired beyond the grace; it opens with the
 * request's key; ANAF echoed the request's state) and stores its tokens as a local authorization.
 */
export async function importAnswer(store: Store, pending: PendingRequests, text: string, now: number, log: Logger): Promise<ImportedAnswer> {
  const id = answerRequestId(text);
  const request = pending.get(id);
  if (!request) throw new AppError('REQUEST_FOREIGN', 'no request with this id was made here');
  const refused = refusal(request, now);
  if (refused) throw refused;
  const plain = await openAnswer(text, { id, privateJwk: pending.privateKey(id), publicKey: request.publicKey });
  if (hashState(plain.st) !== request.stateHash) throw new AppError('STATE_MISMATCH', "the answer's state is not the request's");
  if (plain.at > now + 5 * 60_000 || plain.at > request.expiresAt + IMPORT_GRACE_MS) {
    throw new AppError('REQUEST_EXPIRED', 'answered after the request expired');
  }
  const profile = await store.getProfile(request.profile);
  if (profile.env !== request.env || profile.clientId !== request.clientId || profile.redirectUri !== request.redirectUri) {
    throw new AppError('REQUEST_PROFILE_CHANGED');
  }
  // One import per request, even when two run at once.
  if (!pending.claim(id)) throw refusal(pending.get(id)!, now) ?? new AppError('REQUEST_USED');
  try {
    const answer: oauth.TokenEndpointResponse = { ...plain.tok, token_type: (plain.tok.token_type ?? 'bearer').toLowerCase() as Lowercase<string> };
    const tokens = tokenSet(answer, now, Math.min(plain.at, now));
    const certificate = certificateFromClaims(tokens.accessToken);
    const record = await store.saveTokens(profile, tokens, { kind: 'authorization', certificate, stateEchoed: true });
    pending.finish(id, record.certificate.serialHex);
    log.log('info', 'request.imported', { profile: profile.name, request: id, generation: record.generation });
    return { request: pending.get(id)!, record, certificate: record.certificate };
  } catch (e) {
    pending.release(id);
    throw e;
  }
}

export function cancelLinkRequest(pending: PendingRequests, id: string): void {
  const r = pending.get(id);
  if (!r) throw new AppError('REQUEST_NOT_FOUND', id);
  if (!pending.cancel(id)) {
    throw r.status === 'used' ? new AppError('REQUEST_USED') : r.status === 'cancelled' ? new AppError('REQUEST_CANCELLED') : new AppError('REQUEST_EXPIRED');
  }
}
