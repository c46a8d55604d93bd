/**
 * callback.html: what the authorization tab shows while the host exchanges ANAF's code, and where
 * a failure stays. The code never reaches this page: the service worker answers ANAF's redirect
 * (callback.html?flow=…) itself with 204, so that navigation never commits, and then opens this
 * page, plain, in the flow's tab. The page shows that tab's flow from storage.session and follows
 * it. It sends nothing to the background: it cannot finish or change a flow.
 */
import '../shared/zod-setup.js';
import '../shared/page.css';
import './callback.css';
import browser from 'webextension-polyfill';
import { FLOWS_KEY, parseFlows, type Flow } from '../shared/flow-state.js';
import { errorText, localizePage, t } from '../shared/i18n.js';
import { readCachedStatuses } from '../shared/status-cache.js';

localizePage();
// Reached with a query only if the worker did not answer the redirect: the query must not stay.
if (location.search) history.replaceState(null, '', location.pathname);

const message = document.getElementById('message') as HTMLParagraphElement;

function show(kind: '' | 'ok' | 'error', text: string): void {
  message.className = kind;
  message.textContent = text;
}

async function currentFlow(): Promise<Flow | undefined> {
  const tab = await browser.tabs.getCurrent();
  if (tab?.id === undefined) return undefined;
  const flows = parseFlows((await browser.storage.session.get(FLOWS_KEY))[FLOWS_KEY]);
  return Object.values(flows)
    .filter((f) => f.tabId === tab.id)
    .sort((a, b) => b.startedAt - a.startedAt)[0];
}

async function render(): Promise<void> {
  const flow = await currentFlow();
  if (!flow || flow.phase === 'waiting') {
    show('error', t('error_CALLBACK_UNEXPECTED'));
  } else if (flow.phase === 'completing') {
    show('', t('callbackWorking'));
  } else if (flow.phase === 'failed') {
    show('error', flow.error ? errorText(flow.error) : t('error_EXTENSION_FAILED'));
  } else {
    const status = (await readCachedStatuses()).profiles.find((p) => p.profile.name === flow.profile);
    show('ok', t('callbackDone', flow.profile, String(status?.accessDaysLeft ?? '?')));
  }
}

browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'session' && FLOWS_KEY in changes) void render();
});
void render();
