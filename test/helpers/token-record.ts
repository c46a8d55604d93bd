/** A stored token's status fields for pure tests: 90 days of access, a year of refresh, from `now`. */
import type { TokenRecord } from '../../native-host/src/store/records.js';

const DAY = 86_400_000;

export const tokenRecord = (now: number, over: Partial<TokenRecord> = {}): TokenRecord => ({
  profile: 'p',
  accessExpiresAt: now + 90 * DAY,
  refreshExpiresAt: now + 365 * DAY,
  hasRefreshToken: true,
  authorizedAt: now,
  lastRefreshAt: undefined,
  certificate: {},
  stateEchoed: true,
  deadReason: undefined,
  lastError: undefined,
  lastFailureAt: undefined,
  generation: 1,
  ...over,
});
