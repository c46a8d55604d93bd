/** What the popup, the CLI table and the ERP API show about a profile's token: never the token. */
import * as z from 'zod/mini';
import { profileSchema } from './profile.js';

export const tokenStateSchema = z.enum(['none', 'valid', 'expiring', 'expired', 'dead']);
export type TokenState = z.infer<typeof tokenStateSchema>;

const isoDate = z.optional(z.iso.datetime());
const text = (max: number) => z.string().check(z.maxLength(max));

export const certificateInfoSchema = z.object({
  subject: z.optional(text(1024)),
  /** Upper-case hex, no separators (ANAF's token writes it "4a:1f:…"). */
  serialHex: z.optional(text(128)),
  /** The certificate's issuer as ANAF's token names it. */
  issuer: z.optional(text(512)),
  /** ANAF's roles for the token, e.g. "HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA". */
  roles: z.optional(text(512)),
  sha256: z.optional(text(128)),
  /** How it is known: ANAF's JWT names it, it was the only usable certificate on the token, or the user said. */
  source: z.optional(z.enum(['jwt', 'only-certificate', 'user'])),
  /** The user's own name for it, when nothing else tells. */
  label: z.optional(text(128)),
});
export type CertificateInfo = z.infer<typeof certificateInfoSchema>;

export const tokenStatusSchema = z.object({
  profile: profileSchema(),
  state: tokenStateSchema,
  accessExpiresAt: isoDate,
  refreshExpiresAt: isoDate,
  /** Whole days left, rounded down; negative when past. */
  accessDaysLeft: z.optional(z.int()),
  refreshDaysLeft: z.optional(z.int()),
  authorizedAt: isoDate,
  lastRefreshAt: isoDate,
  certificate: z.optional(certificateInfoSchema),
  /** Why the token is dead, or the last refresh error kept beside a still-usable token. */
  lastError: z.optional(text(2000)),
  /** False when ANAF did not echo `state` and the answer was matched to the only pending authorization. */
  stateEchoed: z.optional(z.boolean()),
});
export type TokenStatus = z.infer<typeof tokenStatusSchema>;
