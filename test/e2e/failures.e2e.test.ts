/**
 * Every way an authorization can go wrong ends with no token and a message that says what to
 * do — shown in the popup, and on the callback page when ANAF's answer reached it.
 * Headless Chromium with the certificate in NSS, the real host, the mTLS stand-in.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callbackMessage, gotoAnswered, navigateFromPage, popupError, startHeldFlow } from './support/flow.js';
import { ERP_HOST } from './support/paths.js';
import { fireFlowTimeout, screenshot, sessionRuleCount, waitForState } from './support/popup.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

let w: World;

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
    expect(w.erp.requests.filter((r) => r.startsWith('GET /anaf/'))).toEqual([]);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    await screenshot(popup, 'popup-error');
    await tab.close();
    await popup.getByTestId(`dismiss-${PROFILE}`).click();
    await expect.poll(() => popup.getByTestId(`error-${PROFILE}`).count()).toBe(0);
    await popup.close();
  });

  it("a state that is not the flow's, in ANAF's own redirect, is refused before the host or ANAF hear of it", async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab, authorizeUrl, state } = await startHeldFlow(w, popup);
    // A page in the tab sends it through ANAF with another state: ANAF redirects back with a code and that state.
    const forged = new URL(authorizeUrl);
    forged.searchParams.set(
      'state',
      state.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    await navigateFromPage(tab, `https://${ERP_HOST}/elsewhere`, forged.href);

    expect(await callbackMessage(tab)).toContain('does not belong to an authorization the extension started');
    expect(await popupError(popup)).toContain('does not belong to an authorization the extension started');
    expect(w.browser.console.filter((l) => l.includes('callback refused: foreign-state'))).toHaveLength(1);
    expect(w.anaf.counters.requests.authorize).toBe(2);
    expect(w.anaf.counters.requests.token).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    expect(w.erp.requests.filter((r) => r.startsWith('GET /anaf/'))).toEqual([]);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    await tab.close();
    await popup.close();
  });

  it("ANAF's answer without state is not used (the extension needs it); the message gives the CLI command", async () => {
    w.anaf.setOptions({ omitState: true });
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const tabOpened = w.browser.context.waitForEvent('page');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const tab = await tabOpened;

    const text = await callbackMessage(tab);
    expect(text).toContain('without the state the extension sent');
    expect(text).toContain(`anaf-token authorize --profile ${PROFILE}`);
    expect(await popupError(popup)).toContain('without the state the extension sent');
    expect(w.anaf.counters.requests.authorize).toBe(1);
    expect(w.anaf.counters.requests.token).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    await tab.close();
    await popup.close();
  });

  it('a callback page opened outside the authorization tab does nothing (never reaches the host)', async () => {
    const page = await w.browser.context.newPage();
    // With a query the worker answers it without a page: nothing commits, nothing is sent.
    await gotoAnswered(page, `${w.extensionUrl('callback.html')}?code=x-0123456789&state=y-0123456789`);
    expect(page.url()).toBe('about:blank');
    // Plain, it only says that this tab has no authorization.
    await page.goto(w.extensionUrl('callback.html'));
    await expect.poll(() => page.getByTestId('callback-message').textContent()).toContain('does not belong to an authorization the extension started');
    expect((await w.list())[0]?.state).toBe('none');
    expect(w.anaf.counters.requests.token).toBe(0);
    await page.close();
  });

  it('closing the ANAF tab ends the flow with a message', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab } = await startHeldFlow(w, popup);
    await tab.close();
    expect(await popupError(popup)).toContain('tab was closed before the authorization finished');
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    await popup.close();
  });

  it('an authorization not finished in time ends with a message; its tab closes', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab } = await startHeldFlow(w, popup);
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

    // A new authorization that ANAF answers, under the new (valid) state, with the old code.
    w.anaf.setOptions({ replayCode: usedCode });
    const tabOpened = w.browser.context.waitForEvent('page');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const tab = await tabOpened;
    expect(await callbackMessage(tab)).toContain('ANAF refused the authorization code');
    expect(await popupError(popup)).toContain('ANAF refused the authorization code');
    expect(w.anaf.counters.grants.authorization_code).toBe(2);
    expect(w.anaf.issued.accessTokens.at(-1)).toBe(firstToken);
    expect((await w.list())[0]?.state).toBe('valid');
    expect(w.erp.requests.filter((r) => r.startsWith('GET /anaf/'))).toEqual([]);
    await tab.close();
    await popup.close();
  });
});
