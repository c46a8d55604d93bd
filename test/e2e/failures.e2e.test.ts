/**
 * Every way an authorization can go wrong ends with no token and a message that says what to
 * do — shown in the popup, and on the callback page when ANAF's answer reached it.
 * Headless Chromium with the certificate in NSS, the real host, the mTLS stand-in.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REDIRECT_URI } from './support/paths.js';
import { fireFlowTimeout, screenshot, sessionRuleCount, waitForState } from './support/popup.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

let w: World;

/**
 * Starts "obtain" while the stand-in holds its answer, so the test can act in the authorization
 * tab first. Returns the tab and the state the host put in the authorize URL.
 */
async function startHeldFlow(popup: Page): Promise<{ tab: Page; state: string }> {
  w.anaf.setFaults({ delayMs: 5_000, endpoints: ['authorize'], times: 1 });
  const tabOpened = w.browser.context.waitForEvent('page');
  const authorizeRequested = w.browser.context.waitForEvent('request', (r) => r.url().includes('/anaf-oauth2/v1/authorize'));
  await popup.getByTestId(`obtain-${PROFILE}`).click();
  const [tab, request] = await Promise.all([tabOpened, authorizeRequested]);
  const state = new URL(request.url()).searchParams.get('state');
  if (!state) throw new Error('no state in the authorize URL');
  return { tab, state };
}

/** The browser is sent to the callback URL (as ANAF's redirect would send it); the rule must catch it. */
async function sendTabToCallback(tab: Page, query: Record<string, string>): Promise<void> {
  await tab.goto(`${REDIRECT_URI}?${new URLSearchParams(query).toString()}`);
  await tab.getByTestId('callback-message').filter({ hasNotText: /Saving/ }).waitFor();
}

async function popupError(popup: Page): Promise<string> {
  const e = popup.getByTestId(`error-${PROFILE}`);
  await e.waitFor({ timeout: 20_000 });
  return (await e.textContent()) ?? '';
}

describe.skipIf(!process.env.ANAF_E2E)('authorization failures (headless, NSS certificate)', () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss' });
  });
  afterAll(() => closeAndExpectClean(w));
  beforeEach(() => w.resetStandin());

  it('error=access_denied from ANAF (certificate not enrolled in SPV): no token, the popup says why', async () => {
    w.anaf.setOptions({ enrolledSubjects: ['SOMEONE ELSE'] });
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const tabOpened = w.browser.context.waitForEvent('page');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const tab = await tabOpened;

    const text = await popupError(popup);
    expect(text).toContain('ANAF denied access');
    expect(text).toContain('SPV');
    expect(text).toContain('access_denied');
    // The callback page stays open with the same message.
    await expect.poll(() => tab.getByTestId('callback-message').textContent()).toContain('ANAF denied access');
    expect(tab.url()).not.toContain('error=');
    expect((await w.list())[0]?.state).toBe('none');
    expect(w.anaf.counters.requests.token).toBe(0);
    expect(w.erp.requests).toEqual([]);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    await screenshot(popup, 'popup-error');
    await tab.close();
    await popup.getByTestId(`dismiss-${PROFILE}`).click();
    await expect.poll(() => popup.getByTestId(`error-${PROFILE}`).count()).toBe(0);
    await popup.close();
  });

  it('a tampered state is refused by the host before anything is sent to ANAF', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab, state } = await startHeldFlow(popup);
    const forged = state.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    await sendTabToCallback(tab, { code: 'forged-code-0123456789', state: forged });

    expect(await tab.getByTestId('callback-message').textContent()).toContain('does not belong to an authorization started here');
    expect(await popupError(popup)).toContain('state does not match');
    expect(w.anaf.counters.requests.token).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    expect(w.erp.requests).toEqual([]);
    await tab.close();
    await popup.close();
  });

  it('a callback opened outside the authorization tab is ignored (never reaches the host)', async () => {
    const page = await w.browser.context.newPage();
    await page.goto(`${w.extensionUrl('callback.html')}?code=x&state=y`);
    await expect.poll(() => page.getByTestId('callback-message').textContent()).toContain('does not belong to an authorization the extension started');
    expect(page.url()).not.toContain('code=');
    expect((await w.list())[0]?.state).toBe('none');
    await page.close();
  });

  it('closing the ANAF tab ends the flow with a message', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab } = await startHeldFlow(popup);
    await tab.close();
    expect(await popupError(popup)).toContain('tab was closed before the authorization finished');
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    await popup.close();
  });

  it('an authorization not finished in time ends with a message; its tab closes', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab } = await startHeldFlow(popup);
    await fireFlowTimeout(w.browser.worker, PROFILE);
    expect(await popupError(popup)).toContain('did not finish within 5 minutes');
    await expect.poll(() => tab.isClosed()).toBe(true);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    await popup.close();
  });

  it('a replayed code is refused by ANAF (invalid_grant); the token obtained before stays', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await waitForState(popup, PROFILE, 'valid');
    const usedCode = w.anaf.issued.codes.at(-1)!;
    const firstToken = w.anaf.issued.accessTokens.at(-1)!;

    // A new authorization, answered with the old code under the new (valid) state.
    const { tab, state } = await startHeldFlow(popup);
    await sendTabToCallback(tab, { code: usedCode, state });
    expect(await tab.getByTestId('callback-message').textContent()).toContain('ANAF refused the authorization code');
    expect(await popupError(popup)).toContain('ANAF refused the authorization code');
    expect(w.anaf.counters.grants.authorization_code).toBe(2);
    expect(w.anaf.issued.accessTokens.at(-1)).toBe(firstToken);
    expect((await w.list())[0]?.state).toBe('valid');
    expect(w.erp.requests).toEqual([]);
    await tab.close();
    await popup.close();
  });
});
