/**
 * When a token is due for refresh. ANAF warns that repeated abuse can block the application for
 * every company that uses it, so the rule refreshes only where a refresh can help:
 * - inside the refresh window (or expired), and
 * - at most once an hour, unless the access token ends within the hour, and
 * - only if a refresh can move the expiry out of the window: ANAF caps a new access token at
 *   the refresh token's end, so once that end is itself inside the window, only a token about
 *   to end is refreshed (to live until the grant's end). Whether ANAF extends the refresh token
 *   on rotation is unknown, so the first refresh of a grant is always allowed: its answer tells.
 */
import type { Profile } from '#shared/schemas/profile.js';
import type { TokenRecord } from '../store/records.js';
import { tokenState } from './status.js';

const MINUTE = 60_000;
export const REFRESH_MIN_INTERVAL_MS = 60 * MINUTE;
/** Never two refreshes closer than this, even for a token about to end. */
const URGENT_MIN_INTERVAL_MS = MINUTE;
const DAY = 86_400_000;

export function isDueAt(profile: Profile, rec: TokenRecord, now: number): boolean {
  const state = tokenState(profile, rec, now);
  if (state !== 'expiring' && state !== 'expired') return false;
  const sinceRefresh = rec.lastRefreshAt === undefined ? Infinity : now - rec.lastRefreshAt;
  const urgent = rec.accessExpiresAt - now < REFRESH_MIN_INTERVAL_MS;
  if (sinceRefresh < (urgent ? URGENT_MIN_INTERVAL_MS : REFRESH_MIN_INTERVAL_MS)) return false;
  const grantEnd = rec.refreshExpiresAt;
  const canLeaveWindow = grantEnd === undefined || grantEnd - now > profile.refreshWindowDays * DAY || rec.lastRefreshAt === undefined;
  if (canLeaveWindow) return true;
  return urgent && grantEnd > rec.accessExpiresAt;
}
