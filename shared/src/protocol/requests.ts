/**
 * What the extension may ask the native host. The host parses every message with
 * `parseRequest`; a message that does not parse is answered with BAD_REQUEST.
 *
 * Each type's schema is built the first time a message of that type is parsed: Chrome starts
 * a host process per message, and building all of them (with the profile schemas) was about
 * a twentieth of such a process.
 */
import * as z from 'zod/mini';
import { profileFormFields, profileNameSchema } from '../schemas/profile.js';

const str = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const id = () => str(1, 64);
const profile = () => profileNameSchema();

const REQUESTS = {
  hello: () => z.strictObject({ id: id(), type: z.literal('hello'), protocol: z.int() }),
  status: () => z.strictObject({ id: id(), type: z.literal('status') }),
  'profile.save': () => z.strictObject({ id: id(), type: z.literal('profile.save'), ...profileFormFields() }),
  'profile.remove': () => z.strictObject({ id: id(), type: z.literal('profile.remove'), profile: profile() }),
  'authorize.start': () => z.strictObject({ id: id(), type: z.literal('authorize.start'), profile: profile() }),
  /** The URL ANAF redirected to, or just its code and state (for callers that parsed it). */
  'authorize.complete': () =>
    z
      .strictObject({
        id: id(),
        type: z.literal('authorize.complete'),
        profile: profile(),
        callbackUrl: z.optional(z.url().check(z.maxLength(8192))),
        code: z.optional(str(1, 4096)),
        state: z.optional(str(1, 512)),
      })
      .check(z.refine((m) => (m.callbackUrl === undefined) !== (m.code === undefined), 'callbackUrl or code, not both')),
  'token.refresh': () => z.strictObject({ id: id(), type: z.literal('token.refresh'), profile: profile(), force: z.optional(z.boolean()) }),
  'token.revoke': () => z.strictObject({ id: id(), type: z.literal('token.revoke'), profile: profile() }),
  /** One call to ANAF's TestOauth hello with the stored access token; never refreshes. */
  'token.check': () => z.strictObject({ id: id(), type: z.literal('token.check'), profile: profile() }),
  /** The user names the certificate that authenticated, when ANAF's token does not. */
  'token.label': () =>
    z.strictObject({ id: id(), type: z.literal('token.label'), profile: profile(), label: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)) }),
  'refresh.due': () => z.strictObject({ id: id(), type: z.literal('refresh.due') }),
  /** Certificates on the USB token(s), read without a PIN; `modules` defaults to every known installed driver. */
  'certs.list': () => z.strictObject({ id: id(), type: z.literal('certs.list'), modules: z.optional(z.array(str(1, 1024)).check(z.maxLength(16))) }),
  /** The PIN from an extension field: used for C_Login only, never stored or logged. */
  'pin.check': () =>
    z.strictObject({
      id: id(),
      type: z.literal('pin.check'),
      module: str(1, 1024),
      tokenSerial: z.string().check(z.maxLength(64)),
      certId: z.string().check(z.regex(/^[0-9a-f]*$/), z.maxLength(256)),
      pin: str(1, 64),
    }),
};

type Requests = typeof REQUESTS;
export type RequestType = keyof Requests;
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
