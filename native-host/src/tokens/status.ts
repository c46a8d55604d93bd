/** The status of a profile's token at a given time: what the popup, `list` and the ERP API show. */
import type { Profile } from '#shared/schemas/profile.js';
import type { TokenState, TokenStatus } from '#shared/schemas/token-status.js';
import type { TokenRecord } from '../store/records.js';

const DAY = 86_400_000;
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const daysLeft = (t: number | undefined, now: number) => (t === undefined ? undefined : Math.floor((t - now) / DAY));

export function tokenState(profile: Profile, t: TokenRecord | undefined, now: number): TokenState {
  if (!t) return 'none';
  if (t.deadReason !== undefined) return 'dead';
  const refreshUsable = t.hasRefreshToken && (t.refreshExpiresAt === undefined || t.refreshExpiresAt > now);
  if (t.accessExpiresAt <= now) return refreshUsable ? 'expired' : 'dead';
  if (t.accessExpiresAt - profile.refreshWindowDays * DAY <= now) return 'expiring';
  return 'valid';
}

export function tokenStatus(profile: Profile, t: TokenRecord | undefined, now: number): TokenStatus {
  const state = tokenState(profile, t, now);
  if (!t) return { profile, state };
  const status: TokenStatus = {
    profile,
    state,
    accessExpiresAt: iso(t.accessExpiresAt),
    refreshExpiresAt: iso(t.refreshExpiresAt),
    accessDaysLeft: daysLeft(t.accessExpiresAt, now),
    refreshDaysLeft: daysLeft(t.refreshExpiresAt, now),
    authorizedAt: iso(t.authorizedAt),
    lastRefreshAt: iso(t.lastRefreshAt),
    stateEchoed: t.stateEchoed,
  };
  const cert = Object.fromEntries(Object.entries(t.certificate).filter(([, v]) => v !== undefined));
  if (Object.keys(cert).length) status.certificate = cert;
  const lastError = t.deadReason ?? t.lastError;
  if (lastError !== undefined) status.lastError = lastError;
  for (const k of Object.keys(status) as (keyof TokenStatus)[]) if (status[k] === undefined) delete status[k];
  return status;
}
