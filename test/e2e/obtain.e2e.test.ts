/**
 * Headless Chromium, client certificate in its NSS database picked by the managed policy:
 * one click in the popup gets a token into the host's vault, with the callback caught inside
 * the browser; then refresh and revoke from the popup.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import { badgeText, extensionStorageDump, fireDailyAlarm, notificationIds, recordTiming, screenshot, sessionRuleCount, waitForState } from './support/popup.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

const DAY = 86_400;
let w: World;

describe.skipIf(!process.env.ANAF_E2E)('obtain a token from the popup (headless, NSS certificate)', () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss' });
  });
  afterAll(() => closeAndExpectClean(w));
  beforeEach(() => w.resetStandin());

  it('one click: the token is in the vault, the popup says valid with the right days, the callback host saw nothing', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');

    const started = performance.now();
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await waitForState(popup, PROFILE, 'valid');
    const ms = performance.now() - started;
    recordTiming('headless-nss click→token stored', ms);

    const [status] = await w.list();
    expect(status).toMatchObject({ state: 'valid', accessDaysLeft: 89, refreshDaysLeft: 364, stateEchoed: true });
    // ANAF's token names the certificate by serial and issuer; no USB token here to give the name.
    const serial = normalizeSerialHex(new X509Certificate(w.pki.client.certPem).serialNumber)!;
    expect(status?.certificate).toMatchObject({ serialHex: serial, source: 'jwt', roles: 'HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA' });
    expect(w.anaf.counters.requests.authorize).toBe(1);
    expect(w.anaf.counters.grants.authorization_code).toBe(1);
    // The code never left the browser: the callback host got no request at all.
    expect(w.erp.requests).toEqual([]);

    await expect.poll(() => popup.getByTestId(`access-days-${PROFILE}`).textContent()).toContain('89');
    expect(await popup.getByTestId(`refresh-days-${PROFILE}`).textContent()).toContain('364');
    expect(await popup.getByTestId(`cert-serial-${PROFILE}`).textContent()).toContain(`serial ${serial}`);
    expect(await popup.getByTestId(`flow-${PROFILE}`).textContent()).toMatch(/\d+(\.\d)? s/);

    // The authorization tab closed itself and its redirect rule is gone.
    await expect
      .poll(() =>
        w.browser.context
          .pages()
          .filter((p) => p !== popup && p.url() !== 'about:blank')
          .map((p) => p.url()),
      )
      .toEqual([]);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    // Nothing secret is kept by the extension: no token, no code, no client secret.
    const stored = await extensionStorageDump(w.browser.worker);
    for (const secret of [w.clientSecret, ...w.anaf.issued.codes, ...w.anaf.issued.accessTokens, ...w.anaf.issued.refreshTokens]) {
      expect(stored.includes(secret)).toBe(false);
    }
    expect(await popup.content()).not.toContain(w.anaf.issued.accessTokens.at(-1)!);
    await screenshot(popup, 'popup-valid');
    await popup.close();
  });

  it('renders at once from the cache, then from the host', async () => {
    const popup = await w.openPopup();
    // The cached status is drawn before the host answers (a host round trip is ~0.2 s or more).
    await waitForState(popup, PROFILE, 'valid', 5_000);
    await expect.poll(() => popup.getByTestId('freshness').textContent()).toMatch(/^Updated /);
    await popup.close();
  });

  it('"refresh now" rotates the tokens through the host', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    const before = w.anaf.issued.accessTokens.length;
    await popup.getByTestId(`refresh-${PROFILE}`).click();
    await expect.poll(() => w.anaf.counters.grants.refresh_token).toBe(1);
    await expect.poll(async () => (await w.list())[0]?.lastRefreshAt).toBeDefined();
    expect(w.anaf.issued.accessTokens.length).toBe(before + 1);
    await waitForState(popup, PROFILE, 'valid');
    expect(await popup.getByTestId(`error-${PROFILE}`).count()).toBe(0);
    await popup.close();
  });

  it('an expiring token shows as expiring, with the badge raised', async () => {
    w.anaf.setOptions({ accessTokenTtlSec: 10 * DAY });
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await waitForState(popup, PROFILE, 'expiring');
    expect(await popup.getByTestId(`status-${PROFILE}`).textContent()).toMatch(/expiring/i);
    await expect.poll(() => popup.getByTestId(`access-days-${PROFILE}`).textContent()).toContain('9');
    expect((await w.list())[0]).toMatchObject({ state: 'expiring', accessDaysLeft: 9 });
    expect(await badgeText(w.browser.worker)).toBe('1');
    expect(w.erp.requests).toEqual([]);
    await screenshot(popup, 'popup-expiring');
    await popup.close();
  });

  it('the daily alarm refreshes what is due; a failed refresh raises a notification, a good one clears the badge', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'expiring');
    w.anaf.setFaults({ status: 503, endpoints: ['token'], times: 1 });
    await fireDailyAlarm(w.browser.worker);
    await expect.poll(() => w.anaf.counters.grants.refresh_token, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => notificationIds(w.browser.worker), { timeout: 20_000 }).toContain(`refresh:${PROFILE}`);
    expect((await w.list())[0]).toMatchObject({ state: 'expiring' });
    expect((await w.list())[0]?.lastError).toContain('ANAF_UNAVAILABLE');
    expect(await badgeText(w.browser.worker)).toBe('1');

    w.anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
    await fireDailyAlarm(w.browser.worker);
    await waitForState(popup, PROFILE, 'valid');
    expect(w.anaf.counters.grants.refresh_token).toBe(2);
    expect((await w.list())[0]).toMatchObject({ state: 'valid', accessDaysLeft: 89 });
    await expect.poll(() => badgeText(w.browser.worker)).toBe('');
    await popup.close();
  });

  it("revoke (two clicks) against ANAF's login wall: forgotten here, the popup says ANAF did not confirm and what to do", async () => {
    const popup = await w.openPopup();
    await popup.locator(`[data-testid="status-${PROFILE}"]:not([data-state="none"])`).waitFor();
    const revoke = popup.getByTestId(`revoke-${PROFILE}`);
    await revoke.click();
    expect(w.anaf.counters.requests.revoke).toBe(0); // the first click only arms it
    await revoke.click();
    await waitForState(popup, PROFILE, 'none');
    expect(w.anaf.counters.requests.revoke).toBe(1); // one try
    const notice = (await popup.getByTestId(`notice-${PROFILE}`).textContent()) ?? '';
    expect(notice).toContain('ANAF did not confirm');
    expect(notice).toContain('Renunțare OAuth');
    expect((await w.list())[0]?.state).toBe('none');
    expect(await badgeText(w.browser.worker)).toBe('');
    await popup.close();
  });
  for (const shape of ['invalid_request', 'invalid_grant'] as const) {
    it(`a dead grant (${shape} "Refresh Token status is expired") shows dead with "authorize again", on the badge and in a notification`, async () => {
      w.anaf.setOptions({ deadGrantError: shape, accessTokenTtlSec: 10 * DAY });
      const popup = await w.openPopup();
      await popup.getByTestId(`obtain-${PROFILE}`).click();
      await waitForState(popup, PROFILE, 'expiring');
      // The grant ends at ANAF (its clock passes the refresh token's end); the daily alarm finds out.
      w.anaf.advanceClock(366 * DAY);
      try {
        await fireDailyAlarm(w.browser.worker);
        await waitForState(popup, PROFILE, 'dead', 20_000);
      } finally {
        w.anaf.advanceClock(-366 * DAY);
      }
      expect((await w.list())[0]).toMatchObject({ state: 'dead' });
      expect((await w.list())[0]?.lastError).toContain(`ANAF answered 400 ${shape}: Refresh Token status is expired`);
      expect(await popup.getByTestId(`status-${PROFILE}`).textContent()).toContain('USB key needed');
      expect(await popup.getByTestId(`obtain-${PROFILE}`).getAttribute('class')).toContain('primary');
      expect(await popup.getByTestId(`refresh-days-${PROFILE}`).textContent()).not.toMatch(/\d+ days left/);
      await expect.poll(() => notificationIds(w.browser.worker)).toContain(`refresh:${PROFILE}`);
      expect(await popup.getByTestId(`dead-advice-${PROFILE}`).textContent()).toMatch(/authorize again with the USB key/i);
      expect(await badgeText(w.browser.worker)).toBe('1');
      expect(w.anaf.counters.grants.refresh_token).toBe(1);
      await screenshot(popup, `popup-dead-${shape}`);
      await popup.close();
    });
  }
});
