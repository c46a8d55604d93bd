/**
 * What the extension may ask the native host. The host parses every message with
 * `parseRequest`; a message that does not parse is answered with BAD_REQUEST.
 *
 * Each type's schema is built the first time a message of that type is parsed: a host process
 * often answers a few messages only (one page's visit over the extension's kept port, or one
 * message), and building all of them (with the profile schemas) was about a twentieth of a
 * one-message process.
 */
import * as z from 'zod/mini';
import {
  CLIENT_ID_MAX_LENGTH,
  CLIENT_SECRET_MAX_LENGTH,
  PROFILE_NAME_MAX_LENGTH,
  REFRESH_WINDOW_MAX_DAYS,
  URL_MAX_LENGTH,
  profileFormFields,
  profileNameSchema,
} from '../schemas/profile.js';
import { MAX_VALID_MS, MIN_VALID_MS, NOTE_MAX_LENGTH, PASSPHRASE_MAX_LENGTH, PASSPHRASE_MIN_LENGTH, requestIdSchema } from '../request/format.js';

/** The longest value of each free-text field; the frame cap below is computed from them. */
const MAX = {
  id: 64,
  callbackUrl: 8192,
  label: 128,
  /** A label is trimmed: this much may come before trimming. */
  labelUntrimmed: 256,
  modulePath: 1024,
  modules: 16,
  tokenSerial: 64,
  certId: 256,
  pin: 64,
  /** A request link's id (base64url of 16 bytes). */
  requestId: 22,
  /**
   * An answer as the extension sends it: cut out of the pasted text first, so only its own
   * characters (base64url and dots, one byte each in JSON). Tokens of ANAF's size make 1.5–2.5 KB (packed: answer-codec.ts); the cap leaves room for far larger ones.
   */
  answer: 48 * 1024,
} as const;

/** What an answer is made of; anything else around it was cut off by the extension. */
const ANSWER_CHARS = /^[A-Za-z0-9_.-]+$/;

const str = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const id = () => str(1, MAX.id);
const profile = () => profileNameSchema();

const REQUESTS = {
  hello: () => z.strictObject({ id: id(), type: z.literal('hello'), protocol: z.int() }),
  status: () => z.strictObject({ id: id(), type: z.literal('status') }),
  'profile.save': () => z.strictObject({ id: id(), type: z.literal('profile.save'), ...profileFormFields() }),
  'profile.remove': () => z.strictObject({ id: id(), type: z.literal('profile.remove'), profile: profile() }),
  'authorize.start': () => z.strictObject({ id: id(), type: z.literal('authorize.start'), profile: profile() }),
  /** The URL ANAF redirected to, as the extension caught it (checked against the profile's callback URL and state). */
  'authorize.complete': () =>
    z.strictObject({ id: id(), type: z.literal('authorize.complete'), profile: profile(), callbackUrl: z.url().check(z.maxLength(MAX.callbackUrl)) }),
  'token.refresh': () => z.strictObject({ id: id(), type: z.literal('token.refresh'), profile: profile(), force: z.optional(z.boolean()) }),
  'token.revoke': () => z.strictObject({ id: id(), type: z.literal('token.revoke'), profile: profile() }),
  /** One call to ANAF's TestOauth hello with the stored access token; never refreshes. */
  'token.check': () => z.strictObject({ id: id(), type: z.literal('token.check'), profile: profile() }),
  /** The user names the certificate that authenticated, when ANAF's token does not. */
  'token.label': () =>
    z.strictObject({
      id: id(),
      type: z.literal('token.label'),
      profile: profile(),
      label: z.string().check(z.maxLength(MAX.labelUntrimmed), z.trim(), z.minLength(1), z.maxLength(MAX.label)),
    }),
  'refresh.due': () => z.strictObject({ id: id(), type: z.literal('refresh.due') }),
  /** Certificates on the USB token(s), read without a PIN; `modules` defaults to every known installed driver. */
  'certs.list': () =>
    z.strictObject({ id: id(), type: z.literal('certs.list'), modules: z.optional(z.array(str(1, MAX.modulePath)).check(z.maxLength(MAX.modules))) }),
  /** What the browser will offer at ANAF's login: the certificates in the store it uses on this OS. */
  'certs.browser': () => z.strictObject({ id: id(), type: z.literal('certs.browser') }),
  /** The PIN from an extension field: used for C_Login only, never stored or logged. */
  'pin.check': () =>
    z.strictObject({
      id: id(),
      type: z.literal('pin.check'),
      module: str(1, MAX.modulePath),
      tokenSerial: z.string().check(z.maxLength(MAX.tokenSerial)),
      certId: z.string().check(z.regex(/^[0-9a-f]*$/), z.maxLength(MAX.certId)),
      pin: str(1, MAX.pin),
    }),
  /**
   * A request link for the certificate holder (request links, docs/request-links.md). The
   * passphrase, when given, is used to seal the link only: never stored or logged.
   */
  'request.create': () =>
    z.strictObject({
      id: id(),
      type: z.literal('request.create'),
      profile: profile(),
      validMs: z.int().check(z.minimum(MIN_VALID_MS), z.maximum(MAX_VALID_MS)),
      note: z.optional(z.string().check(z.maxLength(NOTE_MAX_LENGTH), z.trim(), z.minLength(1))),
      passphrase: z.optional(str(PASSPHRASE_MIN_LENGTH, PASSPHRASE_MAX_LENGTH)),
    }),
  'request.list': () => z.strictObject({ id: id(), type: z.literal('request.list') }),
  /** `requestId`: the request's own id (`id` is the message's). */
  'request.cancel': () => z.strictObject({ id: id(), type: z.literal('request.cancel'), requestId: requestIdSchema() }),
  /** The holder's answer, cut out of whatever text it came in. */
  'request.import': () =>
    z.strictObject({ id: id(), type: z.literal('request.import'), answer: z.string().check(z.minLength(1), z.maxLength(MAX.answer), z.regex(ANSWER_CHARS)) }),
};

type Requests = typeof REQUESTS;
export type RequestType = keyof Requests;

/**
 * The longest JSON text of a valid message of each type, as a serializer writes it (Chrome, or
 * JSON.stringify: no padding whitespace, numbers in their shortest form): the message with
 * every string empty, plus six bytes for each character the strings may hold (\u0001 is the
 * longest any UTF-16 unit gets). Record<RequestType, …>: a new type does not compile without its bound.
 */
const worst = (shape: Record<string, unknown>, chars: number, plainChars = 0) => JSON.stringify(shape).length + 6 * chars + plainChars;
const LONGEST: Record<RequestType, number> = {
  hello: worst({ id: '', type: 'hello', protocol: -Number.MAX_SAFE_INTEGER }, MAX.id),
  status: worst({ id: '', type: 'status' }, MAX.id),
  'profile.save': worst(
    { id: '', type: 'profile.save', name: '', clientId: '', clientSecret: '', redirectUri: '', env: '', refreshWindowDays: REFRESH_WINDOW_MAX_DAYS },
    MAX.id + PROFILE_NAME_MAX_LENGTH + CLIENT_ID_MAX_LENGTH + CLIENT_SECRET_MAX_LENGTH + 2 * URL_MAX_LENGTH,
  ),
  'profile.remove': worst({ id: '', type: 'profile.remove', profile: '' }, MAX.id + PROFILE_NAME_MAX_LENGTH),
  'authorize.start': worst({ id: '', type: 'authorize.start', profile: '' }, MAX.id + PROFILE_NAME_MAX_LENGTH),
  'authorize.complete': worst({ id: '', type: 'authorize.complete', profile: '', callbackUrl: '' }, MAX.id + PROFILE_NAME_MAX_LENGTH + MAX.callbackUrl),
  'token.refresh': worst({ id: '', type: 'token.refresh', profile: '', force: false }, MAX.id + PROFILE_NAME_MAX_LENGTH),
  'token.revoke': worst({ id: '', type: 'token.revoke', profile: '' }, MAX.id + PROFILE_NAME_MAX_LENGTH),
  'token.check': worst({ id: '', type: 'token.check', profile: '' }, MAX.id + PROFILE_NAME_MAX_LENGTH),
  'token.label': worst({ id: '', type: 'token.label', profile: '', label: '' }, MAX.id + PROFILE_NAME_MAX_LENGTH + MAX.labelUntrimmed),
  'refresh.due': worst({ id: '', type: 'refresh.due' }, MAX.id),
  'certs.list': worst({ id: '', type: 'certs.list', modules: Array<string>(MAX.modules).fill('') }, MAX.id + MAX.modules * MAX.modulePath),
  'certs.browser': worst({ id: '', type: 'certs.browser' }, MAX.id),
  'pin.check': worst(
    { id: '', type: 'pin.check', module: '', tokenSerial: '', certId: '', pin: '' },
    MAX.id + MAX.modulePath + MAX.tokenSerial + MAX.certId + MAX.pin,
  ),
  'request.create': worst(
    { id: '', type: 'request.create', profile: '', validMs: MAX_VALID_MS, note: '', passphrase: '' },
    MAX.id + PROFILE_NAME_MAX_LENGTH + NOTE_MAX_LENGTH + PASSPHRASE_MAX_LENGTH,
  ),
  'request.list': worst({ id: '', type: 'request.list' }, MAX.id),
  // A request id and an answer hold base64url and dots only: one byte each.
  'request.cancel': worst({ id: '', type: 'request.cancel', requestId: '' }, MAX.id, MAX.requestId),
  'request.import': worst({ id: '', type: 'request.import', answer: '' }, MAX.id, MAX.answer),
};

/**
 * The frame cap for messages to the host: the longest valid request (certs.list with sixteen
 * driver paths, about 96 KiB at worst), not Chrome's own 64 MiB. A longer frame cannot be a
 * valid request, and is refused before it is buffered. Answers have their own cap (constants.ts).
 */
export const MAX_FROM_BROWSER_BYTES = Math.max(...Object.values(LONGEST));
export type Request = { [T in RequestType]: z.infer<ReturnType<Requests[T]>> }[RequestType];

const built = new Map<RequestType, z.ZodMiniType<unknown>>();

function isRequestType(type: unknown): type is RequestType {
  return typeof type === 'string' && Object.hasOwn(REQUESTS, type);
}

/** Where and why a message failed to parse: the first issue, in zod's terms. */
export interface RequestIssue {
  path: string;
  code: string;
}

export type RequestParse = { success: true; data: Request } | { success: false; issue: RequestIssue };

/** A known `type` first, then that type's strict schema: unknown keys, types or sizes are refused. */
export function parseRequest(value: unknown): RequestParse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { success: false, issue: { path: 'message', code: 'invalid_type' } };
  const type = (value as { type?: unknown }).type;
  if (!isRequestType(type)) return { success: false, issue: { path: 'type', code: 'invalid_union' } };
  let schema = built.get(type);
  if (!schema) {
    schema = REQUESTS[type]();
    built.set(type, schema);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { success: true, data: parsed.data as Request }; // REQUESTS[type] parses exactly that member of Request
  const issue = parsed.error.issues[0];
  return { success: false, issue: { path: issue?.path.length ? issue.path.join('.') : 'message', code: issue?.code ?? 'invalid' } };
}
