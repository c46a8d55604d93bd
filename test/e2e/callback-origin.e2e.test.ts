/**
 * Only ANAF's answer, redirected by ANAF in the top frame of the flow's own tab, finishes an
 * authorization. A page shown in that tab, a frame, or another tab — even one that knows the
 * flow's state and the exact address of the extension's callback page — is refused, and no token
 * request reaches the stand-in. Headless Chromium, certificate in NSS, the real host.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callbackMessage, navigateFromPage, popupError, ruleTarget, startHeldFlow } from './support/flow.js';
import { ERP_HOST, REDIRECT_URI } from './support/paths.js';
import { sessionRuleCount, waitForState } from './support/popup.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

let w: World;

const refusals = (reason: string) => w.browser.console.filter((l) => l.includes(`callback refused: ${reason}`)).length;

describe.skipIf(!process.env.ANAF_E2E)("a callback that is not ANAF's, in the flow's tab, is refused (headless, NSS certificate)", () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss' });
  });
  afterAll(() => closeAndExpectClean(w));
  beforeEach(() => w.resetStandin());

  it('a page shown in the flow tab cannot finish it with its own code, even with the right state', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab, state } = await startHeldFlow(w, popup);
    // Another page in the authorization tab (any site); by script it sends the tab to the callback URL.
    const before = refusals('not-redirected-in-flow-tab');
    await navigateFromPage(tab, `https://${ERP_HOST}/elsewhere`, `${REDIRECT_URI}?code=page-own-code-0123456789&state=${state}`);

    expect(await callbackMessage(tab)).toContain('does not belong to an authorization the extension started');
    expect(await popupError(popup)).toContain('does not belong to an authorization the extension started');
    expect(refusals('not-redirected-in-flow-tab')).toBeGreaterThan(before);
    expect(w.anaf.counters.requests.token).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    // The callback host saw the other page only: the callback itself was caught in the browser.
    expect(w.erp.requests.filter((r) => r.startsWith('GET /anaf/'))).toEqual([]);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    await tab.close();
    await popup.close();
  });

  it("a frame with the exact address of the flow's callback page is refused; the flow goes on and ANAF's answer finishes it", async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const { tab, state } = await startHeldFlow(w, popup);
    // Everything a forger could want: the per-session page address, the rule's nonce, the state.
    const exact = `${await ruleTarget(w)}code=frame-code-0123456789&state=${state}`;
    const other = await w.browser.context.newPage();
    await other.goto(`https://${ERP_HOST}/frames`);
    await other.evaluate((src) => {
      const frame = document.createElement('iframe');
      frame.src = src;
      document.body.append(frame);
    }, exact);
    await expect.poll(() => refusals('not-top-frame')).toBe(1);
    await other.close();

    // The held answer arrives: ANAF's redirect in the flow tab, with the flow's state.
    await waitForState(popup, PROFILE, 'valid');
    expect(w.anaf.counters.grants.authorization_code).toBe(1);
    expect(w.anaf.counters.requests.token).toBe(1);
    await expect.poll(() => tab.isClosed()).toBe(true);
    await popup.close();
  });

  it("another tab with the exact address of the flow's callback page and the right state is refused", async () => {
    const popup = await w.openPopup();
    const { tab, state } = await startHeldFlow(w, popup);
    const before = refusals('not-redirected-in-flow-tab');
    const exact = `${await ruleTarget(w)}code=other-tab-code-0123456789&state=${state}`;
    // Typed or opened by the browser, Chromium itself blocks the per-session address.
    const typed = await w.browser.context.newPage();
    await expect(typed.goto(exact)).rejects.toThrow(/ERR_BLOCKED_BY_CLIENT/);
    await typed.close();
    // Sent there by a web page (allowed: it is web-accessible), the worker answers and refuses it.
    const other = await w.browser.context.newPage();
    await navigateFromPage(other, `https://${ERP_HOST}/other`, exact);
    await expect.poll(() => refusals('not-redirected-in-flow-tab')).toBe(before + 1);
    expect(new URL(other.url()).pathname).toBe('/other');

    expect(await callbackMessage(tab)).toContain('does not belong to an authorization the extension started');
    expect(await popupError(popup)).toContain('does not belong to an authorization the extension started');
    expect(w.anaf.counters.requests.token).toBe(0);
    await other.close();
    await tab.close();
    await popup.close();
  });

  it('another tab sent to the callback URL through ANAF is not caught at all: the rule is for the flow tab only', async () => {
    const popup = await w.openPopup();
    const { tab, authorizeUrl } = await startHeldFlow(w, popup);
    const tokensBefore = w.anaf.counters.requests.token;
    const erpBefore = w.erp.requests.filter((r) => r.startsWith('GET /anaf/')).length;
    const other = await w.browser.context.newPage();
    // ANAF redirects the other tab with a code and the flow's state: the browser goes to the callback host.
    await other.goto(authorizeUrl);
    expect(new URL(other.url()).host).toBe(ERP_HOST);
    expect(w.erp.requests.filter((r) => r.startsWith('GET /anaf/')).length).toBe(erpBefore + 1);
    expect(w.anaf.counters.requests.token).toBe(tokensBefore);
    await other.close();
    // The flow itself still finishes with its own answer.
    await waitForState(popup, PROFILE, 'valid');
    await expect.poll(() => tab.isClosed()).toBe(true);
    await popup.close();
  });
});
