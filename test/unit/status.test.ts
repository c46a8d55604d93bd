import { describe, expect, it } from 'vitest';
import type { Profile } from '#shared/index.js';
import { tokenState, tokenStatus } from '../../native-host/src/tokens/status.js';
import type { TokenRecord } from '../../native-host/src/store/records.js';
import { tokenRecord } from '../helpers/token-record.js';

const DAY = 86_400_000;
const profile: Profile = { name: 'p', clientId: 'c', redirectUri: 'https://x.example/cb', env: 'prod', refreshWindowDays: 14 };
const now = Date.UTC(2026, 10, 25);
const rec = (over: Partial<TokenRecord> = {}): TokenRecord => tokenRecord(now, over);

describe('token state', () => {
  it('follows the refresh window and the expiries', () => {
    expect(tokenState(profile, undefined, now)).toBe('none');
    expect(tokenState(profile, rec(), now)).toBe('valid');
    expect(tokenState(profile, rec({ accessExpiresAt: now + 14 * DAY + 1 }), now)).toBe('valid');
    expect(tokenState(profile, rec({ accessExpiresAt: now + 14 * DAY }), now)).toBe('expiring');
    expect(tokenState(profile, rec({ accessExpiresAt: now }), now)).toBe('expired');
    expect(tokenState(profile, rec({ accessExpiresAt: now, refreshExpiresAt: now }), now)).toBe('dead');
    expect(tokenState(profile, rec({ accessExpiresAt: now, hasRefreshToken: false }), now)).toBe('dead');
    expect(tokenState(profile, rec({ deadReason: 'invalid_grant' }), now)).toBe('dead');
  });

  it('reports whole days left and never a token', () => {
    const s = tokenStatus(profile, rec({ accessExpiresAt: now + 89.5 * DAY }), now);
    expect(s.accessDaysLeft).toBe(89);
    expect(s.refreshDaysLeft).toBe(365);
    expect(JSON.stringify(s)).not.toMatch(/token-value/);
  });
});
