/**
 * Each profile's token: present, not dead, not failing to refresh, and the refresh token not
 * about to end. A refresh that ANAF refuses (wrong client id or secret, ...) fails: retrying
 * cannot fix it, and the token stops working when the access token ends. One that failed for a
 * reason a retry may fix (ANAF down) is a warning.
 */
import { ERROR_CODES, EXIT, messagesFor, type ErrorCode } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import { tokenStatus } from '../tokens/status.js';
import type { TokenRecord } from '../store/records.js';
import type { Bilingual, Check, Finding } from './check.js';
import { storeOrNothing } from './check.js';
import { explainAnafError } from '#shared/anaf-causes.js';

const CHECK = 'token';
/** A new authorization with the USB key should be planned this long before the refresh token ends. */
export const REFRESH_END_WARN_DAYS = 30;

const advise = (code: ErrorCode): Bilingual => {
  const m = messagesFor(code);
  return { ro: m.ro, en: m.en };
};
const asCode = (c: string): ErrorCode => ((ERROR_CODES as readonly string[]).includes(c) ? (c as ErrorCode) : 'ANAF_UNAVAILABLE');
const day = (iso: string | undefined) => (iso ? iso.slice(0, 10) : '?');

/** "ANAF_UNAVAILABLE: refresh: …" as a failed refresh stores it → its code and detail. */
function storedError(text: string): { code: string; detail: string } {
  const m = /^([A-Z_]+): ?(.*)$/s.exec(text);
  return m ? { code: m[1]!, detail: m[2]! } : { code: 'ANAF_UNAVAILABLE', detail: text };
}

function finding(p: Profile, rec: TokenRecord | undefined, now: number): Omit<Finding, 'check' | 'subject'> {
  const s = tokenStatus(p, rec, now);
  if (!rec || s.state === 'none') return { status: 'warn', message: 'no token yet', advice: advise('NO_TOKEN') };
  if (s.state === 'dead') {
    const why = s.lastError ?? 'the refresh token has expired';
    return { status: 'fail', message: `dead: ${why}`, advice: advise('TOKEN_DEAD'), causes: explainAnafError('TOKEN_DEAD', why) };
  }
  // A failure recorded after the last success (in the same millisecond counts): refreshing is failing now.
  const failure = rec.lastError !== undefined && (rec.lastFailureAt ?? 0) >= (rec.lastRefreshAt ?? rec.authorizedAt) ? storedError(rec.lastError) : undefined;
  const causes = failure ? { causes: explainAnafError(failure.code, failure.detail) } : {};
  const refused = failure !== undefined && messagesFor(asCode(failure.code)).exit === EXIT.rejected;
  if (refused) {
    return {
      status: 'fail',
      message: `ANAF refuses to refresh the token (${rec.lastError}); ${s.state === 'expired' ? `the access token expired on ${day(s.accessExpiresAt)}` : `the access token is valid until ${day(s.accessExpiresAt)}`}`,
      advice: advise(asCode(failure.code)),
      ...causes,
    };
  }
  if (s.state === 'expired') {
    return {
      status: 'warn',
      message: `the access token expired on ${day(s.accessExpiresAt)}; the refresh token still works${failure ? ` (last refresh failed: ${rec.lastError})` : ''}`,
      advice: {
        ro: `Rulați "anaf-token refresh --profile ${p.name}" sau porniți "anaf-token serve".`,
        en: `Run "anaf-token refresh --profile ${p.name}" or start "anaf-token serve".`,
      },
      ...causes,
    };
  }
  if (failure) {
    return {
      status: 'warn',
      message: `the last refresh failed (${rec.lastError}); the access token is valid until ${day(s.accessExpiresAt)}`,
      advice: advise(asCode(failure.code)),
      ...causes,
    };
  }
  if (s.refreshDaysLeft !== undefined && s.refreshDaysLeft < REFRESH_END_WARN_DAYS) {
    return {
      status: 'warn',
      message: `the refresh token ends on ${day(s.refreshExpiresAt)} (${s.refreshDaysLeft} days)`,
      advice: {
        ro: `Autorizați din nou cu cheia USB înainte de ${day(s.refreshExpiresAt)}: după aceea tokenul nu mai poate fi reîmprospătat.`,
        en: `Authorize again with the USB key before ${day(s.refreshExpiresAt)}: after that the token can no longer be refreshed.`,
      },
    };
  }
  return { status: 'ok', message: `${s.state}: access token until ${day(s.accessExpiresAt)}, refresh token until ${day(s.refreshExpiresAt)}` };
}

export const tokensCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const vault = await storeOrNothing(ctx);
    if (!vault) return [];
    const tokens = await vault.allTokens();
    const now = ctx.now();
    return (await vault.listProfiles()).map((p) => ({ check: CHECK, subject: p.name, ...finding(p, tokens.get(p.name), now) }));
  },
};
