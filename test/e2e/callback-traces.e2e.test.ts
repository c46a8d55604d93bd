/**
 * After an Obtain, the browser profile keeps nothing of the authorization: neither the code
 * ANAF issued nor the state the host put in the authorize URL, in History (its urls, visits and
 * every other table), the Sessions files, the HTTP cache or any other file of the user data dir
 * — also when ANAF's redirect does not say `Cache-Control: no-store`.
 * Headless Chromium, certificate in NSS, the real host and the mTLS stand-in.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitForState } from './support/popup.js';
import { historyUrls, profileTraces, type Secret } from './support/profile-traces.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

let w: World;
/** Every code and state of this file's authorizations: none may be found, from any run. */
const states: string[] = [];

function secrets(): Secret[] {
  return [...w.anaf.issued.codes.map((value) => ({ label: 'code', value })), ...states.map((value) => ({ label: 'state', value }))];
}

/** One click on Obtain; returns when the token is stored and the authorization tab has closed. */
async function obtain(popup: Page, until: 'valid' | 'expiring' = 'valid'): Promise<void> {
  const exchanged = w.anaf.counters.grants.authorization_code;
  const authorizeRequested = w.browser.context.waitForEvent('request', (r) => r.url().includes('/anaf-oauth2/v1/authorize'));
  await popup.getByTestId(`obtain-${PROFILE}`).click();
  const state = new URL((await authorizeRequested).url()).searchParams.get('state');
  expect(state?.length).toBeGreaterThan(20);
  states.push(state!);
  await expect.poll(() => w.anaf.counters.grants.authorization_code).toBe(exchanged + 1);
  await waitForState(popup, PROFILE, until);
  await expect.poll(() => w.browser.context.pages().filter((p) => p !== popup && p.url() !== 'about:blank').length).toBe(0);
}

/** Quits the browser (its files are written and closed), then looks through its user data dir. */
async function tracesAfterExit(): Promise<{ traces: ReturnType<typeof profileTraces>; urls: string[] }> {
  await w.browser.close();
  const all = secrets();
  const traces = profileTraces(w.userDataDir, all);
  const redact = (s: string) => all.reduce((t, x) => t.split(x.value).join(`<${x.label}>`), s);
  return { traces, urls: historyUrls(`${w.userDataDir}/Default`).map(redact) };
}

describe.skipIf(!process.env.ANAF_E2E)('no trace of the code or the state in the browser profile (headless, NSS certificate)', () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss' });
  });
  afterAll(() => closeAndExpectClean(w));
  beforeEach(() => w.resetStandin());

  it('after an Obtain and a browser exit: nothing in History, Sessions, the cache or any other file', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    await obtain(popup);
    expect(w.anaf.issued.codes).toHaveLength(1);
    expect(w.erp.requests).toEqual([]);
    await popup.close();

    const { traces, urls } = await tracesAfterExit();
    expect(traces, `History has: ${urls.join(' | ')}`).toEqual([]);
    // The flow left no address with a query behind: only the extension's pages, plain.
    expect(urls.filter((u) => u.includes('?'))).toEqual([]);
  });

  it('the same when ANAF lets its redirect be cached (no Cache-Control): the cached 302 is dropped', async () => {
    await w.restartBrowser();
    w.anaf.setOptions({ authorizeCacheControl: null });
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    await obtain(popup);
    expect(w.anaf.issued.codes).toHaveLength(2);
    await popup.close();

    // Both runs: this one and the previous session (kept by Chromium as its last session).
    const { traces, urls } = await tracesAfterExit();
    expect(traces, `History has: ${urls.join(' | ')}`).toEqual([]);
    await w.restartBrowser();
  });

  it('the same when the exchange fails and the code is still live: the tab shows why, the profile keeps nothing', async () => {
    w.anaf.setOptions({ authorizeCacheControl: null });
    w.anaf.setFaults({ status: 503, endpoints: ['token'], times: 1 });
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    const tabOpened = w.browser.context.waitForEvent('page');
    const authorizeRequested = w.browser.context.waitForEvent('request', (r) => r.url().includes('/anaf-oauth2/v1/authorize'));
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const [tab, request] = await Promise.all([tabOpened, authorizeRequested]);
    states.push(new URL(request.url()).searchParams.get('state')!);
    await popup.getByTestId(`error-${PROFILE}`).waitFor({ timeout: 20_000 });
    expect(w.anaf.counters.requests.token).toBe(1);
    // The failure stays on the extension's page in the tab, whose address holds nothing.
    await expect.poll(() => tab.getByTestId('callback-message').textContent()).toMatch(/ANAF/);
    expect(tab.url()).toBe(w.extensionUrl('callback.html'));
    await popup.close();

    const { traces, urls } = await tracesAfterExit();
    expect(w.anaf.issued.codes).toHaveLength(3);
    expect(traces, `History has: ${urls.join(' | ')}`).toEqual([]);
    await w.restartBrowser();
  });
});
