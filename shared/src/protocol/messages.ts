/**
 * The native messaging protocol between the extension and the host. Both sides parse every
 * message with these schemas; a message that does not parse is answered with BAD_REQUEST.
 */
import * as z from 'zod';
import { errorPayloadSchema } from '../errors.js';
import {
  clientIdSchema,
  clientSecretSchema,
  environmentSchema,
  profileNameSchema,
  redirectUriSchema,
  refreshWindowDaysSchema,
} from '../schemas/profile.js';
import { tokenStatusSchema } from '../schemas/token-status.js';
import { moduleReportSchema, pinCheckResultSchema } from '../schemas/pkcs11.js';

export const PROTOCOL_VERSION = 1;
export const NATIVE_HOST_NAME = 'ro.anaftoken.host';
/** Chrome refuses host→browser messages over 1 MB, and never sends more than 64 MiB. */
export const MAX_TO_BROWSER_BYTES = 1024 * 1024;
export const MAX_FROM_BROWSER_BYTES = 64 * 1024 * 1024;

const id = z.string().min(1).max(64);
const profile = profileNameSchema;
const callbackUrl = z.url().max(8192);

export const requestSchema = z.discriminatedUnion('type', [
  z.object({ id, type: z.literal('hello'), protocol: z.number().int() }).strict(),
  z.object({ id, type: z.literal('status') }).strict(),
  z
    .object({
      id,
      type: z.literal('profile.save'),
      name: profile,
      clientId: clientIdSchema,
      /** Omitted when editing a profile whose secret is already in the vault. */
      clientSecret: clientSecretSchema.optional(),
      redirectUri: redirectUriSchema,
      env: environmentSchema,
      refreshWindowDays: refreshWindowDaysSchema.optional(),
    })
    .strict(),
  z.object({ id, type: z.literal('profile.remove'), profile }).strict(),
  z.object({ id, type: z.literal('authorize.start'), profile }).strict(),
  /** The URL ANAF redirected to, or just its code and state (for callers that parsed it). */
  z
    .object({
      id,
      type: z.literal('authorize.complete'),
      profile,
      callbackUrl: callbackUrl.optional(),
      code: z.string().min(1).max(4096).optional(),
      state: z.string().min(1).max(512).optional(),
    })
    .strict()
    .refine((m) => (m.callbackUrl === undefined) !== (m.code === undefined), 'callbackUrl or code, not both'),
  z.object({ id, type: z.literal('token.refresh'), profile, force: z.boolean().optional() }).strict(),
  z.object({ id, type: z.literal('token.revoke'), profile }).strict(),
  /** The user names the certificate that authenticated, when ANAF's token does not. */
  z.object({ id, type: z.literal('token.label'), profile, label: z.string().trim().min(1).max(128) }).strict(),
  z.object({ id, type: z.literal('refresh.due') }).strict(),
  /** Certificates on the USB token(s), read without a PIN; `modules` defaults to every known installed driver. */
  z.object({ id, type: z.literal('certs.list'), modules: z.array(z.string().min(1).max(1024)).max(16).optional() }).strict(),
  /** The PIN from an extension field: used for C_Login only, never stored or logged. */
  z
    .object({
      id,
      type: z.literal('pin.check'),
      module: z.string().min(1).max(1024),
      tokenSerial: z.string().max(64),
      certId: z.string().regex(/^[0-9a-f]*$/).max(256),
      pin: z.string().min(1).max(64),
    })
    .strict(),
]);
export type Request = z.infer<typeof requestSchema>;
export type RequestType = Request['type'];

export const authorizeStartResultSchema = z.object({
  authorizeUrl: z.url(),
  redirectUri: redirectUriSchema,
  state: z.string(),
  expiresAt: z.iso.datetime(),
});
export type AuthorizeStart = z.infer<typeof authorizeStartResultSchema>;

export const refreshOutcomeSchema = z.object({
  profile,
  outcome: z.enum(['refreshed', 'not-due', 'failed', 'dead', 'no-token']),
  error: errorPayloadSchema.optional(),
});
export type RefreshOutcome = z.infer<typeof refreshOutcomeSchema>;

/** Result schemas per request type: the extension parses answers with these. */
export const resultSchemas = {
  hello: z.object({ protocol: z.number().int(), hostVersion: z.string() }),
  status: z.object({ profiles: z.array(tokenStatusSchema) }),
  'profile.save': tokenStatusSchema,
  'profile.remove': z.object({ removed: z.boolean() }),
  'authorize.start': authorizeStartResultSchema,
  'authorize.complete': tokenStatusSchema,
  'token.refresh': tokenStatusSchema,
  'token.revoke': tokenStatusSchema,
  'token.label': tokenStatusSchema,
  'refresh.due': z.object({ outcomes: z.array(refreshOutcomeSchema) }),
  'certs.list': z.object({ modules: z.array(moduleReportSchema) }),
  'pin.check': pinCheckResultSchema,
} satisfies Record<RequestType, z.ZodType>;

export type ResultOf<T extends RequestType> = z.infer<(typeof resultSchemas)[T]>;

export const responseSchema = z.union([
  z.object({ id: z.string().nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.string().nullable(), ok: z.literal(false), error: errorPayloadSchema }),
]);
export type Response = z.infer<typeof responseSchema>;
