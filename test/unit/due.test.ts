/**
 * When a token is due for refresh (tokens/due.ts): only where a refresh can help, and never in
 * a storm. ANAF warns that repeated abuse can block the application for every company using it.
 */
import { describe, expect, it } from 'vitest';
import type { Profile } from '#shared/index.js';
import { isDueAt as isDue } from '../../native-host/src/tokens/due.js';
import type { TokenRecord } from '../../native-host/src/store/records.js';
import { tokenRecord } from '../helpers/token-record.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const profile: Profile = { name: 'p', clientId: 'c', redirectUri: 'https://x.example/cb', env: 'prod', refreshWindowDays: 14 };
const now = Date.UTC(2026, 10, 30);
const rec = (over: Partial<TokenRecord>): TokenRecord => tokenRecord(now, { refreshExpiresAt: now + 300 * DAY, authorizedAt: now - 80 * DAY, ...over });

describe('isDue', () => {
  it('not before the refresh window', () => {
    expect(isDue(profile, rec({}), now)).toBe(false);
    expect(isDue(profile, rec({ accessExpiresAt: now + 15 * DAY }), now)).toBe(false);
  });

  it('in the window: once, then at most once an hour', () => {
    expect(isDue(profile, rec({ accessExpiresAt: now + 10 * DAY }), now)).toBe(true);
    expect(isDue(profile, rec({ accessExpiresAt: now + 10 * DAY, lastRefreshAt: now - 59 * MIN }), now)).toBe(false);
    expect(isDue(profile, rec({ accessExpiresAt: now + 10 * DAY, lastRefreshAt: now - HOUR }), now)).toBe(true);
  });

  it("an access token capped at the grant's end inside the window: one refresh to learn, then only to keep it alive", () => {
    const capped = { accessExpiresAt: now + 10 * DAY, refreshExpiresAt: now + 10 * DAY };
    // Never refreshed in this grant: whether ANAF extends the refresh token on rotation is unknown.
    expect(isDue(profile, rec(capped), now)).toBe(true);
    // It did not extend it: no refresh can move the expiry out of the window.
    expect(isDue(profile, rec({ ...capped, lastRefreshAt: now - 2 * HOUR }), now)).toBe(false);
    expect(isDue(profile, rec({ ...capped, lastRefreshAt: now - 20 * DAY }), now)).toBe(false);
    // Ending within the hour but already at the grant's end: nothing to gain either.
    expect(isDue(profile, rec({ accessExpiresAt: now + 30 * MIN, refreshExpiresAt: now + 30 * MIN, lastRefreshAt: now - 2 * HOUR }), now)).toBe(false);
  });

  it('a token ending within the hour is refreshed when the grant lasts longer, at most once a minute', () => {
    const urgent = { accessExpiresAt: now + 30 * MIN, refreshExpiresAt: now + 5 * DAY };
    expect(isDue(profile, rec({ ...urgent, lastRefreshAt: now - 2 * MIN }), now)).toBe(true);
    expect(isDue(profile, rec({ ...urgent, lastRefreshAt: now - 30_000 }), now)).toBe(false);
    expect(isDue(profile, rec({ accessExpiresAt: now - MIN, refreshExpiresAt: now + 5 * DAY, lastRefreshAt: now - 2 * HOUR }), now)).toBe(true);
  });

  it('never for a dead grant', () => {
    expect(isDue(profile, rec({ accessExpiresAt: now + DAY, deadReason: 'x' }), now)).toBe(false);
    expect(isDue(profile, rec({ accessExpiresAt: now - DAY, refreshExpiresAt: now - HOUR }), now)).toBe(false);
  });
});
