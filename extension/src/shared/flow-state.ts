/**
 * The state of each profile's "obtain token" flow, kept in storage.session: the service worker
 * may be stopped while the user picks a certificate or types the PIN, and the popup renders it.
 * Nothing secret is stored here (no code, no state value, no token): the state and the rule's
 * nonce only as SHA-256 digests, enough to recognise them.
 */
import * as z from 'zod/mini';
import { uiErrorSchema } from './errors.js';

export const FLOWS_KEY = 'flows';

export const flowSchema = z.object({
  profile: z.string(),
  phase: z.enum(['waiting', 'completing', 'done', 'failed']),
  startedAt: z.number(),
  finishedAt: z.optional(z.number()),
  /** The authorization tab; the callback is accepted only from it. */
  tabId: z.optional(z.int()),
  /** Session rule that turns the callback into the extension page (one per flow). */
  ruleId: z.optional(z.int()),
  redirectUri: z.optional(z.string()),
  /** SHA-256 (base64url) of the nonce the flow's redirect rule puts into the callback page's URL. */
  nonceHash: z.optional(z.string()),
  /** SHA-256 (base64url) of the state the host issued for this flow; the callback must echo it. */
  stateHash: z.optional(z.string()),
  /** Origin of ANAF's authorize page: a page rendered there means ANAF did not redirect back. */
  authorizeOrigin: z.optional(z.string()),
  deadline: z.optional(z.number()),
  /** Something the user should know while the flow still waits (ANAF showed its own page). */
  notice: z.optional(uiErrorSchema),
  error: z.optional(uiErrorSchema),
});
export type Flow = z.infer<typeof flowSchema>;

export const flowsSchema = z.record(z.string(), flowSchema);
export type Flows = z.infer<typeof flowsSchema>;

export function parseFlows(value: unknown): Flows {
  const r = flowsSchema.safeParse(value ?? {});
  return r.success ? r.data : {};
}

/** Bumped in storage.session after the status cache changes, so open pages re-read it. */
export const STATUS_STAMP_KEY = 'statusStamp';
