/** ANAF's error answers → known causes, as doctor and the CLI print them. */
import { describe, expect, it } from 'vitest';
import { ANAF_CAUSES, explainAnafError, formatCauses } from '#shared/anaf-causes.js';

describe('explainAnafError', () => {
  it('lists SPV enrolment, wrong certificate, driver and Remote Desktop for access denied', () => {
    const causes = explainAnafError('ACCESS_DENIED');
    expect(causes).toEqual([ANAF_CAUSES.notEnrolled, ANAF_CAUSES.wrongCertificate, ANAF_CAUSES.driverMissing, ANAF_CAUSES.remoteDesktop]);
    expect(explainAnafError('access_denied')).toEqual(causes);
    expect(causes.map((c) => c.en).join(' ')).toMatch(/SPV.*CIF[\s\S]*certificate[\s\S]*driver[\s\S]*Remote Desktop/);
    for (const c of causes) expect(c.ro).not.toBe(c.en);
  });

  it('tells a redirect mismatch, invalid_client and invalid_grant apart', () => {
    expect(explainAnafError('AUTHORIZATION_FAILED', 'redirect_uri does not match')).toEqual([ANAF_CAUSES.redirectMismatch]);
    expect(explainAnafError('redirect_uri_mismatch')).toEqual([ANAF_CAUSES.redirectMismatch]);
    expect(explainAnafError('AUTHORIZATION_FAILED', 'server_error')[0]).toBe(ANAF_CAUSES.redirectMismatch);
    expect(explainAnafError('invalid_client')).toEqual([ANAF_CAUSES.badClientCredentials]);
    // A stale code (ANAF: 400 invalid_request) is no setup error: no advice about callback or secret.
    const stale = explainAnafError('INVALID_GRANT', 'exchange: ANAF answered 400 invalid_request');
    expect(stale).toEqual([ANAF_CAUSES.codeStale]);
    expect(stale[0]!.en).toMatch(/60 seconds after the login/);
    expect(stale.map((c) => c.en + c.ro).join(' ')).not.toMatch(/callback|secret/i);
    expect(explainAnafError('INVALID_GRANT', 'redirect_uri does not match')[0]).toBe(ANAF_CAUSES.codeOtherCallback);
  });

  it('explains dead refresh tokens, network failures and unknown codes', () => {
    expect(explainAnafError('TOKEN_DEAD', 'the refresh token has expired')).toEqual([ANAF_CAUSES.refreshExpired]);
    expect(explainAnafError('TOKEN_DEAD', 'Refresh token already used')[0]).toBe(ANAF_CAUSES.refreshUsedElsewhere);
    expect(explainAnafError('TOKEN_DEAD', 'refresh: ANAF answered 400 invalid_grant')).toHaveLength(3);
    // ANAF's own words for every dead grant: all three causes, not only "expired".
    expect(explainAnafError('TOKEN_DEAD', 'refresh: ANAF answered 400 invalid_request: Refresh Token status is expired')).toHaveLength(3);
    expect(explainAnafError('ANAF_UNAVAILABLE')).toEqual([ANAF_CAUSES.network]);
    expect(explainAnafError('ANAF_BAD_RESPONSE')[0]).toBe(ANAF_CAUSES.interceptingProxy);
    expect(explainAnafError('PROFILE_NOT_FOUND')).toEqual([]);
    expect(formatCauses([])).toBe('');
    expect(formatCauses(explainAnafError('invalid_client'))).toMatch(/^Cauze posibile:\n  1\. .+\nPossible causes:\n  1\. .+\n$/);
  });
});
