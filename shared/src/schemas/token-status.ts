/** What the popup, the CLI table and the ERP API show about a profile's token: never the token. */
import * as z from 'zod';
import { profileSchema } from './profile.js';

export const tokenStateSchema = z.enum(['none', 'valid', 'expiring', 'expired', 'dead']);
export type TokenState = z.infer<typeof tokenStateSchema>;

const isoDate = z.iso.datetime();

export const certificateInfoSchema = z.object({
  subject: z.string().max(1024).optional(),
  serialHex: z.string().max(128).optional(),
  sha256: z.string().max(128).optional(),
  /** How it is known: ANAF's JWT names it, it was the only usable certificate on the token, or the user said. */
  source: z.enum(['jwt', 'only-certificate', 'user']).optional(),
  /** The user's own name for it, when nothing else tells. */
  label: z.string().max(128).optional(),
});
export type CertificateInfo = z.infer<typeof certificateInfoSchema>;

export const tokenStatusSchema = z.object({
  profile: profileSchema,
  state: tokenStateSchema,
  accessExpiresAt: isoDate.optional(),
  refreshExpiresAt: isoDate.optional(),
  /** Whole days left, rounded down; negative when past. */
  accessDaysLeft: z.number().int().optional(),
  refreshDaysLeft: z.number().int().optional(),
  authorizedAt: isoDate.optional(),
  lastRefreshAt: isoDate.optional(),
  certificate: certificateInfoSchema.optional(),
  /** Why the token is dead, or the last refresh error kept beside a still-usable token. */
  lastError: z.string().max(2000).optional(),
  /** False when ANAF did not echo `state` and the answer was matched to the only pending authorization. */
  stateEchoed: z.boolean().optional(),
});
export type TokenStatus = z.infer<typeof tokenStatusSchema>;
