/**
 * "Obtain token" with the USB key, one flow per profile:
 *   host authorize.start → a tab (about:blank) → session rule for the callback in that tab's top
 *   frame only → the tab goes to ANAF's authorize page (the browser asks for the certificate and PIN)
 *   → ANAF's redirect to the callback URL is turned into callback.html?flow=NONCE&… (it never
 *     leaves the browser) → the service worker answers that navigation with 204, so nothing
 *     commits (the code never reaches History, the tab's session or a page), and checks it
 *     (callback-check.ts) → host authorize.complete → the tab shows callback.html (plain) while
 *     the host works → rule removed, ANAF's redirect dropped from the HTTP cache, tab closed.
 * Every other ending (ANAF denied, tab closed, timeout, no certificate, host missing, state
 * mismatch) leaves a failed flow with a message the popup, the callback page and a notification show.
 * The flow lives in storage.session and alarms because the worker may stop while the user waits.
 */
import browser, { type Tabs } from 'webextension-polyfill';
import { flowPermissions, originPattern } from '../../shared/callback-url.js';
import { ExtError, toUiError, type ExtErrorCode, type UiError } from '../../shared/errors.js';
import type { Flow } from '../../shared/flow-state.js';
import { notifyFlowEnded } from '../attention.js';
import { digest, judgeCallback, type InterceptedNavigation } from '../flows/callback-check.js';
import { CALLBACK_PAGE, installCallbackRule, removeCallbackRule, removeRulesExcept } from '../flows/callback-rule.js';
import { allFlows, flowByTab, updateFlow } from '../flows/flow-store.js';
import { redirectedTo } from '../flows/redirect-witness.js';
import { host } from '../native/host-port.js';
import { remember } from './status.js';

/** Long enough to find the USB key and type the PIN; the host's pending state lives 10 minutes. */
export const FLOW_TIMEOUT_MS = 5 * 60_000;
export const FLOW_ALARM_PREFIX = 'flow-timeout:';

const ext = (code: ExtErrorCode, params: string[] = []): UiError => toUiError(new ExtError(code, params));

/** How long the flow's new tab may take to show about:blank before it is sent to ANAF anyway. */
const BLANK_TAB_WAIT_MS = 2_000;

/**
 * Resolves once the new tab has loaded its about:blank (or after BLANK_TAB_WAIT_MS). Chrome drops
 * a navigation asked for while the tab's first page is still committing, and the tab stays empty
 * ("unloaded") with the flow waiting for nothing: seen in the e2e in about one run in eight.
 */
function blankTabLoaded(tabId: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      browser.tabs.onUpdated.removeListener(onUpdated);
      resolve();
    };
    const onUpdated = (id: number, info: Tabs.OnUpdatedChangeInfoType) => {
      if (id === tabId && info.status === 'complete') done();
    };
    const timer = setTimeout(done, BLANK_TAB_WAIT_MS);
    browser.tabs.onUpdated.addListener(onUpdated);
    // It may have loaded before the listener was added; a tab already gone fails at the update.
    browser.tabs.get(tabId).then((t) => t.status === 'complete' && done(), done);
  });
}

async function closeTab(tabId: number | undefined): Promise<void> {
  if (tabId === undefined) return;
  try {
    await browser.tabs.remove(tabId);
  } catch {
    // Already closed by the user.
  }
}

/**
 * ANAF's redirect carries the code in its Location header. When ANAF lets it be cached (no
 * `Cache-Control: no-store`), Chromium keeps it in the HTTP cache under the authorize URL, which
 * carries the state: after every flow, the cache entries of ANAF's origin made since the flow
 * started are dropped. Needs the optional browsingData permission, asked with the callback host.
 */
async function forgetAuthorizeCache(flow: Flow): Promise<void> {
  if (flow.authorizeOrigin === undefined) return;
  try {
    if (!(await chrome.permissions.contains({ permissions: ['browsingData'] }))) return;
    // Chromium's disk cache keeps an entry's time in whole seconds: start a second earlier.
    const since = Math.floor(flow.startedAt / 1000) * 1000 - 1000;
    await chrome.browsingData.removeCache({ since, origins: [flow.authorizeOrigin] });
  } catch {
    console.warn("anaf-token: ANAF's redirect could not be removed from the browser's cache");
  }
}

/** The extension's page in the flow's tab (its static address: no query, nothing secret). */
async function showCallbackPage(tabId: number | undefined): Promise<void> {
  if (tabId === undefined) return;
  try {
    await browser.tabs.update(tabId, { url: new URL(`/${CALLBACK_PAGE}`, location.origin).href });
  } catch {
    // The tab was closed meanwhile: the popup and the notification still tell.
  }
}

/** Ends a flow that is still waiting: the tab goes first so that no late redirect escapes the rule. */
async function endFlow(flow: Flow, error: UiError, opts: { closeTab: boolean; showPage?: boolean }): Promise<void> {
  const ended = await updateFlow(flow.profile, (cur) =>
    cur && cur.startedAt === flow.startedAt && cur.phase === 'waiting' ? { ...cur, phase: 'failed', finishedAt: Date.now(), error } : null,
  );
  if (ended?.phase !== 'failed' || ended.startedAt !== flow.startedAt) return;
  await browser.alarms.clear(FLOW_ALARM_PREFIX + flow.profile);
  if (opts.closeTab) await closeTab(flow.tabId);
  await removeCallbackRule(flow.ruleId);
  if (opts.showPage) await showCallbackPage(flow.tabId);
  await forgetAuthorizeCache(flow);
  await notifyFlowEnded(flow.profile, error);
}

/** Stops any flow of this profile without a message (a new one replaces it, or the profile goes). */
export async function cancelFlow(profile: string): Promise<void> {
  const flows = await allFlows();
  const old = flows[profile];
  await updateFlow(profile, () => undefined);
  if (!old) return;
  await browser.alarms.clear(FLOW_ALARM_PREFIX + profile);
  if (old.phase === 'waiting') await closeTab(old.tabId);
  await removeCallbackRule(old.ruleId);
  if (old.phase === 'waiting') await forgetAuthorizeCache(old);
}

export async function dismissFlow(profile: string): Promise<void> {
  await updateFlow(profile, (cur) => (cur && (cur.phase === 'done' || cur.phase === 'failed') ? undefined : null));
}

export async function startObtain(profile: string): Promise<void> {
  await cancelFlow(profile);
  const startedAt = Date.now();
  await updateFlow(profile, () => ({ profile, phase: 'waiting', startedAt }));
  let tabId: number | undefined;
  try {
    const start = await host.request({ type: 'authorize.start', profile });
    // Without host access to the callback origin Chrome ignores the rule and the code would leave
    // the browser; without it to the OAuth server its redirect back is not seen (and refused).
    const origins = [originPattern(start.redirectUri), originPattern(start.authorizeUrl)];
    if (!(await browser.permissions.contains(flowPermissions([...new Set(origins)])))) {
      throw new ExtError('PERMISSION_NEEDED', [new URL(start.redirectUri).host]);
    }
    const tab = await browser.tabs.create({ url: 'about:blank', active: true });
    if (tab.id === undefined) throw new ExtError('EXTENSION_FAILED', [], 'no tab id');
    tabId = tab.id;
    const blank = blankTabLoaded(tabId);
    // Only this tab's rule ever writes the nonce: a navigation carrying it came through the rule.
    const nonce = randomToken();
    const [nonceHash, stateHash] = await Promise.all([digest(nonce), digest(start.state)]);
    // Tab ids are unique in a browser session, like session rules: one rule per flow tab.
    await installCallbackRule(tabId, tabId, start.redirectUri, nonce);
    const deadline = startedAt + FLOW_TIMEOUT_MS;
    await updateFlow(profile, (cur) =>
      cur?.startedAt === startedAt
        ? {
            ...cur,
            tabId,
            ruleId: tabId,
            redirectUri: start.redirectUri,
            nonceHash,
            stateHash,
            authorizeOrigin: new URL(start.authorizeUrl).origin,
            deadline,
          }
        : null,
    );
    await browser.alarms.create(FLOW_ALARM_PREFIX + profile, { when: deadline });
    await blank;
    await browser.tabs.update(tabId, { url: start.authorizeUrl });
  } catch (e) {
    const error = toUiError(e);
    await updateFlow(profile, (cur) => (cur?.startedAt === startedAt ? { ...cur, phase: 'failed', finishedAt: Date.now(), error } : null));
    await closeTab(tabId);
    if (tabId !== undefined) await removeCallbackRule(tabId);
    throw e;
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A navigation to callback.html with a query, already answered with 204 by the worker. Only
 * ANAF's answer to a waiting flow — through that flow's rule, ANAF's redirect in its tab's top
 * frame, with its state — goes on to the host; the rest is refused (logged by reason, never with
 * the URL). One that came through the flow's rule but fails a later check ends the flow with a
 * message in its tab: it is not ANAF's answer to it.
 */
export async function receiveCallback(nav: InterceptedNavigation, pageOrigins: readonly string[]): Promise<void> {
  const verdict = await judgeCallback(nav, await allFlows(), pageOrigins, (url) => redirectedTo(url));
  if (!verdict.accept) {
    console.warn('anaf-token: callback refused:', verdict.reason);
    if (verdict.flow) {
      const error =
        verdict.reason === 'no-state' ? ext('CALLBACK_NO_STATE', [`anaf-token authorize --profile ${verdict.flow.profile}`]) : ext('CALLBACK_UNEXPECTED');
      await endFlow(verdict.flow, error, { closeTab: false, showPage: true });
    }
    return;
  }
  await completeFlow(verdict.flow, verdict.callbackUrl);
}

async function completeFlow(flow: Flow, callbackUrl: string): Promise<void> {
  const claimed = await updateFlow(flow.profile, (cur) =>
    cur && cur.startedAt === flow.startedAt && cur.phase === 'waiting' ? { ...cur, phase: 'completing' } : null,
  );
  // The same answer twice (a second navigation): the first one is being handled.
  if (claimed?.phase !== 'completing' || claimed.startedAt !== flow.startedAt) return;
  await browser.alarms.clear(FLOW_ALARM_PREFIX + flow.profile);
  await removeCallbackRule(flow.ruleId);
  await showCallbackPage(flow.tabId);
  try {
    const status = await host.request({ type: 'authorize.complete', profile: flow.profile, callbackUrl });
    await remember(status);
    await updateFlow(flow.profile, (cur) => (cur?.startedAt === flow.startedAt ? { ...cur, phase: 'done', finishedAt: Date.now() } : null));
    await forgetAuthorizeCache(flow);
    await closeTab(flow.tabId);
    await notifyFlowEnded(flow.profile, undefined, status);
  } catch (e) {
    const error = toUiError(e);
    // The tab stays: callback.html shows this message where the user is looking.
    await updateFlow(flow.profile, (cur) => (cur?.startedAt === flow.startedAt ? { ...cur, phase: 'failed', finishedAt: Date.now(), error } : null));
    await forgetAuthorizeCache(flow);
    await notifyFlowEnded(flow.profile, error);
  }
}

export async function onFlowTabRemoved(tabId: number): Promise<void> {
  const flow = await flowByTab(tabId);
  if (!flow || flow.phase !== 'waiting') return;
  // If ANAF had shown its own page, that is the real reason; closing the tab is only the consequence.
  await endFlow(flow, flow.notice ?? ext('TAB_CLOSED'), { closeTab: false });
}

/**
 * A page finished loading on ANAF's host in the flow's tab: ANAF answered with a page instead of
 * redirecting back (typically no certificate was offered). The flow keeps waiting in case ANAF
 * continues, but the user is told at once.
 */
export async function onFlowTabUpdated(tabId: number, info: Tabs.OnUpdatedChangeInfoType, tab: Tabs.Tab): Promise<void> {
  if (info.status !== 'complete' || !tab.url) return;
  const flow = await flowByTab(tabId);
  if (!flow || flow.phase !== 'waiting' || flow.notice || !flow.authorizeOrigin) return;
  let origin: string;
  try {
    origin = new URL(tab.url).origin;
  } catch {
    return;
  }
  if (origin !== flow.authorizeOrigin) return;
  const notice = ext('NO_CERTIFICATE', [new URL(flow.authorizeOrigin).host]);
  await updateFlow(flow.profile, (cur) => (cur && cur.startedAt === flow.startedAt && cur.phase === 'waiting' ? { ...cur, notice } : null));
}

export async function onFlowTimeout(profile: string): Promise<void> {
  const flow = (await allFlows())[profile];
  if (!flow || flow.phase !== 'waiting') return;
  await endFlow(flow, flow.notice ?? ext('AUTH_TIMEOUT', [String(FLOW_TIMEOUT_MS / 60_000)]), { closeTab: true });
}

/**
 * When the worker starts: flows whose tab is gone ended while it was stopped; a flow caught
 * "completing" lost its host call with the old worker; rules without a waiting flow are removed.
 */
export async function reconcileFlows(): Promise<void> {
  const flows = await allFlows();
  const keep = new Set<number>();
  for (const flow of Object.values(flows)) {
    if (flow.phase === 'completing') {
      await updateFlow(flow.profile, (cur) =>
        cur?.startedAt === flow.startedAt && cur.phase === 'completing'
          ? { ...cur, phase: 'failed', finishedAt: Date.now(), error: ext('EXTENSION_FAILED') }
          : null,
      );
      await forgetAuthorizeCache(flow);
      continue;
    }
    if (flow.phase !== 'waiting' || flow.tabId === undefined) continue;
    const alive = await browser.tabs.get(flow.tabId).then(
      () => true,
      () => false,
    );
    if (!alive) await onFlowTabRemoved(flow.tabId);
    else if (flow.deadline !== undefined && flow.deadline <= Date.now()) await onFlowTimeout(flow.profile);
    else if (flow.ruleId !== undefined) keep.add(flow.ruleId);
  }
  await removeRulesExcept(keep);
}
