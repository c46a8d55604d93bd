/**
 * The JSON shapes of the ERP token service (documented in docs/erp-api.md). Tests and client
 * code parse answers with these.
 */
import * as z from 'zod/mini';
import { errorPayloadSchema } from '../../../shared/src/schemas/error-payload.js';
import { profileNameSchema } from '../../../shared/src/schemas/profile.js';
import { tokenStatusSchema } from '../../../shared/src/schemas/token-status.js';

export const DEFAULT_SERVE_PORT = 8787;

export const tokenResponseSchema = z.object({
  profile: profileNameSchema(),
  accessToken: z.string().check(z.minLength(1)),
  expiresAt: z.iso.datetime(),
  tokenType: z.literal('Bearer'),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export const profilesResponseSchema = z.object({ profiles: z.array(tokenStatusSchema) });
export type ProfilesResponse = z.infer<typeof profilesResponseSchema>;

export const healthResponseSchema = z.object({ status: z.literal('ok'), version: z.string() });
export type HealthResponse = z.infer<typeof healthResponseSchema>;

export const errorResponseSchema = z.object({ error: errorPayloadSchema });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
