/**
 * Messages from the extension's pages (popup, options) to the background, which is
 * the only part that talks to the native host. The background parses every message with
 * `uiRequestSchema`; every answer is `{ ok: true, result }` or `{ ok: false, error: UiError }`.
 */
import * as z from 'zod/mini';
import { profileFormFields, profileNameSchema } from '#shared/schemas/profile.js';
import type { ResultOf } from '#shared/protocol/messages.js';
import type { TokenCheck } from '#shared/schemas/token-check.js';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { MAX_VALID_MS, MIN_VALID_MS, NOTE_MAX_LENGTH, PASSPHRASE_MAX_LENGTH, PASSPHRASE_MIN_LENGTH, requestIdSchema } from '#shared/request/format.js';
import { uiErrorSchema, type UiError } from './errors.js';

/**
 * Each extension page's one runtime port to the background, open for the page's lifetime: its
 * requests and their answers travel over it (a quarter of sendMessage's round trip, which sets
 * up a channel per message), and while one is open the background keeps the native port.
 */
export const PAGE_PORT = 'page';
export const pageRequestSchema = z.object({ id: z.int(), request: z.unknown() });
export const pageReplySchema = z.object({ id: z.int(), reply: z.unknown() });

export const profileFormSchema = z.object(profileFormFields());
export type ProfileForm = z.infer<typeof profileFormSchema>;

/** Same bounds as the host's pin.check request; the PIN is only ever in this message. */
export const pinCheckFormSchema = z.object({
  module: z.string().check(z.minLength(1), z.maxLength(1024)),
  tokenSerial: z.string().check(z.maxLength(64)),
  certId: z.string().check(z.regex(/^[0-9a-f]*$/), z.maxLength(256)),
  pin: z.string().check(z.minLength(1), z.maxLength(64)),
});
export type PinCheckForm = z.infer<typeof pinCheckFormSchema>;

/** A request link for the certificate holder, as the options page asks for one (same bounds as the host's request.create). */
export const requestFormSchema = z.object({
  profile: profileNameSchema(),
  validMs: z.int().check(z.minimum(MIN_VALID_MS), z.maximum(MAX_VALID_MS)),
  note: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(NOTE_MAX_LENGTH))),
  passphrase: z.optional(z.string().check(z.minLength(PASSPHRASE_MIN_LENGTH), z.maxLength(PASSPHRASE_MAX_LENGTH))),
});
export type RequestForm = z.infer<typeof requestFormSchema>;

export const uiRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status') }),
  z.object({ kind: z.literal('obtain'), profile: profileNameSchema() }),
  z.object({ kind: z.literal('refresh'), profile: profileNameSchema() }),
  z.object({ kind: z.literal('revoke'), profile: profileNameSchema() }),
  z.object({ kind: z.literal('token.check'), profile: profileNameSchema() }),
  z.object({ kind: z.literal('profile.save'), profile: profileFormSchema }),
  z.object({ kind: z.literal('profile.remove'), profile: profileNameSchema() }),
  z.object({ kind: z.literal('flow.dismiss'), profile: profileNameSchema() }),
  z.object({ kind: z.literal('certs.list') }),
  z.object({ kind: z.literal('certs.browser') }),
  z.object({ kind: z.literal('pin.check'), check: pinCheckFormSchema }),
  z.object({ kind: z.literal('token.label'), profile: profileNameSchema(), label: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)) }),
  z.object({ kind: z.literal('request.create'), request: requestFormSchema }),
  z.object({ kind: z.literal('request.list') }),
  z.object({ kind: z.literal('request.cancel'), requestId: requestIdSchema() }),
  /** The pasted text: the background cuts the answer out of it. */
  z.object({ kind: z.literal('request.import'), text: z.string().check(z.minLength(1), z.maxLength(256 * 1024)) }),
]);
export type UiRequest = z.infer<typeof uiRequestSchema>;
export type UiKind = UiRequest['kind'];

export interface UiResults {
  status: { profiles: TokenStatus[] };
  obtain: { started: true };
  refresh: TokenStatus;
  revoke: ResultOf<'token.revoke'>;
  'token.check': TokenCheck;
  'profile.save': TokenStatus;
  'profile.remove': { removed: boolean };
  'flow.dismiss': { dismissed: true };
  'certs.list': ResultOf<'certs.list'>;
  'certs.browser': ResultOf<'certs.browser'>;
  'pin.check': ResultOf<'pin.check'>;
  'token.label': TokenStatus;
  'request.create': ResultOf<'request.create'>;
  'request.list': ResultOf<'request.list'>;
  'request.cancel': ResultOf<'request.cancel'>;
  'request.import': ResultOf<'request.import'>;
}

export type UiReply<K extends UiKind> = { ok: true; result: UiResults[K] } | { ok: false; error: UiError };

/** Answers are checked for their envelope only: they come from our own background. */
export const uiReplyEnvelopeSchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: uiErrorSchema }),
]);
