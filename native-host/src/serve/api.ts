/**
 * The JSON shapes of the ERP token service (documented in docs/erp-api.md). Tests and client
 * code parse answers with these.
 */
import * as z from 'zod/mini';
import { errorPayloadSchema } from '#shared/schemas/error-payload.js';
import { profileNameSchema } from '#shared/schemas/profile.js';
import { tokenStatusSchema } from '#shared/schemas/token-status.js';

export const tokenResponseSchema = z.object({
  profile: profileNameSchema(),
  accessToken: z.string().check(z.minLength(1)),
  expiresAt: z.iso.datetime(),
  tokenType: z.literal('Bearer'),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export const profilesResponseSchema = z.object({ profiles: z.array(tokenStatusSchema) });
export type ProfilesResponse = z.infer<typeof profilesResponseSchema>;

/** `GET /v1/challenge`: a nonce to make proofs over until `expiresAt`. */
export const challengeResponseSchema = z.object({
  nonce: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
  expiresAt: z.iso.datetime(),
});
export type ChallengeResponse = z.infer<typeof challengeResponseSchema>;

export const healthResponseSchema = z.object({ status: z.literal('ok'), version: z.string() });
export type HealthResponse = z.infer<typeof healthResponseSchema>;

export const errorResponseSchema = z.object({ error: errorPayloadSchema });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

/** `GET /v1/audit`: who got which generation of which profile's token, newest first (the client's own profiles only). */
export const auditEntrySchema = z.object({
  at: z.iso.datetime(),
  profile: profileNameSchema(),
  client: z.string(),
  generation: z.number(),
  host: z.string(),
  osUser: z.string(),
  action: z.enum(['token', 'refused']),
});
export const auditResponseSchema = z.object({ entries: z.array(auditEntrySchema) });
export type AuditResponse = z.infer<typeof auditResponseSchema>;
