/** Driving an obtain flow from the test: hold ANAF's answer, read what the tab and the popup say. */
import type { Page } from 'playwright-core';
import { PROFILE, type World } from './world.js';

export interface HeldFlow {
  /** The authorization tab. */
  tab: Page;
  /** The authorize URL the extension opened, and the state the host put in it. */
  authorizeUrl: string;
  state: string;
}

/**
 * Starts "obtain" while the stand-in holds its answer, so the test can act in the authorization
 * tab first.
 */
export async function startHeldFlow(w: World, popup: Page): Promise<HeldFlow> {
  w.anaf.setFaults({ delayMs: 5_000, endpoints: ['authorize'], times: 1 });
  const tabOpened = w.browser.context.waitForEvent('page');
  const authorizeRequested = w.browser.context.waitForEvent('request', (r) => r.url().includes('/anaf-oauth2/v1/authorize'));
  await popup.getByTestId(`obtain-${PROFILE}`).click();
  const [tab, request] = await Promise.all([tabOpened, authorizeRequested]);
  const state = new URL(request.url()).searchParams.get('state');
  if (!state) throw new Error('no state in the authorize URL');
  return { tab, authorizeUrl: request.url(), state };
}

/**
 * A navigation the service worker answers with 204 never commits: Playwright reports it as
 * aborted. Anything else that goes wrong is rethrown. (A navigation the browser starts, like
 * this one, to the per-session address of callback.html is blocked by Chromium itself.)
 */
export async function gotoAnswered(page: Page, url: string): Promise<void> {
  try {
    await page.goto(url);
  } catch (e) {
    if (!String(e).includes('ERR_ABORTED')) throw e;
  }
}

/**
 * Sends a tab somewhere the way a page shown in it would (a script setting location, so the page
 * is the navigation's initiator), after first showing a page on the callback host there.
 */
export async function navigateFromPage(tab: Page, pageUrl: string, to: string): Promise<void> {
  await tab.goto(pageUrl);
  await tab.evaluate((url) => {
    location.href = url;
  }, to);
}

/** What the extension's page in the authorization tab says once it has an outcome. */
export async function callbackMessage(tab: Page): Promise<string> {
  // Polled: the answered (204) navigation before it counts as an aborted one for waitForURL.
  for (let i = 0; !/\/callback\.html$/.test(tab.url()); i++) {
    if (i > 200) throw new Error(`the tab did not show the callback page (${new URL(tab.url()).origin})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const message = tab.getByTestId('callback-message').filter({ hasNotText: /Saving/ });
  await message.waitFor();
  return (await message.textContent()) ?? '';
}

export async function popupError(popup: Page): Promise<string> {
  const e = popup.getByTestId(`error-${PROFILE}`);
  await e.waitFor({ timeout: 20_000 });
  return (await e.textContent()) ?? '';
}

/** The flow's rule as installed: the callback page's per-session address with the flow's nonce, up to ANAF's query. */
export async function ruleTarget(w: World): Promise<string> {
  const rules = await w.browser.worker.evaluate(async () => {
    const c = (globalThis as unknown as { chrome: { declarativeNetRequest: { getSessionRules(): Promise<unknown[]> } } }).chrome;
    return c.declarativeNetRequest.getSessionRules();
  });
  const rule = rules[0] as { action: { redirect: { regexSubstitution: string } } } | undefined;
  if (!rule || rules.length !== 1) throw new Error(`expected one session rule, found ${rules.length}`);
  return rule.action.redirect.regexSubstitution.replace(/\\1$/, '');
}
