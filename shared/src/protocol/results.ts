/** What the native host answers: the extension parses every answer with these schemas. */
import * as z from 'zod/mini';
import { errorPayloadSchema } from '../schemas/error-payload.js';
import { profileNameSchema, redirectUriSchema } from '../schemas/profile.js';
import { tokenCheckSchema } from '../schemas/token-check.js';
import { certificateInfoSchema, tokenStatusSchema } from '../schemas/token-status.js';
import { moduleReportSchema, pinCheckResultSchema } from '../schemas/pkcs11.js';
import { browserCertsResultSchema } from '../schemas/browser-certs.js';
import type { RequestType } from './requests.js';

const profile = profileNameSchema();

export const authorizeStartResultSchema = z.object({
  authorizeUrl: z.url(),
  redirectUri: redirectUriSchema(),
  state: z.string(),
  expiresAt: z.iso.datetime(),
});
export type AuthorizeStart = z.infer<typeof authorizeStartResultSchema>;

export const refreshOutcomeSchema = z.object({
  profile,
  outcome: z.enum(['refreshed', 'not-due', 'failed', 'dead', 'no-token']),
  error: z.optional(errorPayloadSchema),
});
export type RefreshOutcome = z.infer<typeof refreshOutcomeSchema>;

/** A revocation: the tokens are forgotten here; ANAF may not confirm (it has no headless revoke). */
export const revokeResultSchema = z.object({
  status: tokenStatusSchema,
  anafConfirmed: z.boolean(),
  anafDetail: z.optional(z.string().check(z.maxLength(1000))),
});
export type RevokeResult = z.infer<typeof revokeResultSchema>;

const requestId = z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/));

/** A request link just made: the link opens the client secret (with the passphrase, if any), so it is shown, not kept. */
export const requestCreatedSchema = z.object({
  id: requestId,
  link: z.string().check(z.minLength(1), z.maxLength(16_384)),
  expiresAt: z.iso.datetime(),
});
export type RequestCreated = z.infer<typeof requestCreatedSchema>;

/** A request as the requester's list shows it: never its private key or state. */
export const requestSummarySchema = z.object({
  id: requestId,
  profile,
  note: z.optional(z.string().check(z.maxLength(1000))),
  status: z.enum(['pending', 'used', 'cancelled', 'expired']),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  certificateSerial: z.optional(z.string().check(z.maxLength(128))),
});
export type RequestSummary = z.infer<typeof requestSummarySchema>;

/** An imported answer: whose tokens they are now, and whose certificate got them. */
export const requestImportedSchema = z.object({
  profile,
  requestId,
  generation: z.int(),
  certificate: certificateInfoSchema,
});
export type RequestImported = z.infer<typeof requestImportedSchema>;

/** Result schemas per request type: the extension parses answers with these. */
export const resultSchemas = {
  hello: z.object({ protocol: z.int(), hostVersion: z.string() }),
  status: z.object({ profiles: z.array(tokenStatusSchema) }),
  'profile.save': tokenStatusSchema,
  'profile.remove': z.object({ removed: z.boolean() }),
  'authorize.start': authorizeStartResultSchema,
  'authorize.complete': tokenStatusSchema,
  'token.refresh': tokenStatusSchema,
  'token.revoke': revokeResultSchema,
  'token.check': tokenCheckSchema,
  'token.label': tokenStatusSchema,
  'refresh.due': z.object({ outcomes: z.array(refreshOutcomeSchema) }),
  'certs.list': z.object({ modules: z.array(moduleReportSchema) }),
  'certs.browser': browserCertsResultSchema,
  'pin.check': pinCheckResultSchema,
  'request.create': requestCreatedSchema,
  'request.list': z.object({ requests: z.array(requestSummarySchema) }),
  'request.cancel': z.object({ requestId, cancelled: z.literal(true) }),
  'request.import': requestImportedSchema,
} satisfies Record<RequestType, z.ZodMiniType>;

export type ResultOf<T extends RequestType> = z.infer<(typeof resultSchemas)[T]>;

export const responseSchema = z.union([
  z.object({ id: z.nullable(z.string()), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.nullable(z.string()), ok: z.literal(false), error: errorPayloadSchema }),
]);
export type Response = z.infer<typeof responseSchema>;
