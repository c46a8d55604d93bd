/**
 * "Does the token work right now?": what one call to ANAF's TestOauth hello with the stored
 * access token said. The CLI's `check --json`, the native `token.check` answer and the popup
 * all use this shape; it never carries the token.
 */
import * as z from 'zod/mini';
import { profileNameSchema } from './profile.js';

/**
 * `ok`: ANAF answered 200. `not-authorized`: 401 or 403, ANAF does not accept the token.
 * `unavailable`: no verdict (5xx, 429, timeout, network, ANAF's firewall page, anything else).
 */
export const TOKEN_CHECK_RESULTS = ['ok', 'not-authorized', 'unavailable'] as const;
export const tokenCheckResultSchema = z.enum(TOKEN_CHECK_RESULTS);
export type TokenCheckResult = z.infer<typeof tokenCheckResultSchema>;

export const tokenCheckSchema = z.object({
  profile: profileNameSchema(),
  result: tokenCheckResultSchema,
  /** ANAF's HTTP status, when an answer came. */
  httpStatus: z.optional(z.int().check(z.minimum(100), z.maximum(599))),
  checkedAt: z.iso.datetime(),
  /** What was seen, safe to show (never a token): e.g. "ANAF answered 401 invalid_token". */
  detail: z.optional(z.string().check(z.maxLength(500))),
});
export type TokenCheck = z.infer<typeof tokenCheckSchema>;
