/** The service worker: listeners are registered synchronously so Chrome can wake it for each event. */
import '../shared/zod-setup.js';
import browser from 'webextension-polyfill';
import { onFlowTabRemoved, onFlowTabUpdated, receiveCallback, reconcileFlows } from './actions/obtain-token.js';
import { fetchStatuses } from './actions/status.js';
import { ensureRefreshAlarm, onAlarm } from './alarms.js';
import { isCallbackNavigation, schemeAndHost } from './flows/callback-check.js';
import { CALLBACK_PAGE } from './flows/callback-rule.js';
import { allFlows, onFlowsStored } from './flows/flow-store.js';
import { recordRedirect } from './flows/redirect-witness.js';
import { holdWhileFlowsRun } from './native/flow-hold.js';
import { isPageOpening, onPageConnect } from './page-port.js';
import { host } from './native/host-port.js';
import { isRequestCallback, listenForRequestAsks, relayRequestCallback } from '../request/relay.js';

browser.runtime.onConnect.addListener((port) => onPageConnect(port));
listenForRequestAsks();
onFlowsStored(holdWhileFlowsRun);
browser.tabs.onRemoved.addListener((tabId) => void onFlowTabRemoved(tabId));
browser.tabs.onUpdated.addListener((tabId, info, tab) => void onFlowTabUpdated(tabId, info, tab));
browser.alarms.onAlarm.addListener((alarm) => void onAlarm(alarm));
browser.runtime.onInstalled.addListener(() => void ensureRefreshAlarm());
browser.runtime.onStartup.addListener(() => {
  void ensureRefreshAlarm();
  // The badge does not survive a browser restart: recompute it from the host.
  void fetchStatuses().catch(() => undefined);
});
browser.notifications.onClicked.addListener((id) => {
  void browser.notifications.clear(id);
  void browser.action.openPopup().catch(() => browser.tabs.create({ url: browser.runtime.getURL('popup.html') }));
});

/** The part of a service worker's FetchEvent used here (the extension's lib is DOM, not WebWorker). */
interface FetchEventLike extends Event {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
  waitUntil(work: Promise<unknown>): void;
}

// callback.html is reached by its per-session (use_dynamic_url) address, which Chrome then serves
// from the extension's own origin: both count.
const callbackPageOrigins = [location.origin, schemeAndHost(new URL(browser.runtime.getURL(CALLBACK_PAGE)))];

// Which tab and frame each server redirect happened in: a callback is accepted only if ANAF's
// redirect took the flow's own tab there (callback-check.ts).
chrome.webRequest.onBeforeRedirect.addListener((d) => recordRedirect(d), { urls: ['https://*/*'], types: ['main_frame'] });

// The redirect rule sends ANAF's answer to callback.html?flow=…; that navigation is answered here
// with 204 No Content, so it never commits: the code and the state reach no History entry, no
// session entry of the tab, no page. Whether it may finish a flow is decided in receiveCallback.
self.addEventListener('fetch', (event) => {
  const e = event as FetchEventLike;
  const { url, mode, destination } = e.request;
  // Parsed once: every file an extension page loads passes through here.
  const address = new URL(url);
  // A request link's authorization (request/relay.ts): answered the same way, handed to its page.
  if (isRequestCallback(address, callbackPageOrigins)) {
    e.respondWith(new Response(null, { status: 204, headers: { 'Content-Type': 'text/html' } }));
    e.waitUntil(relayRequestCallback({ url, mode, destination }));
    return;
  }
  // The popup (or the options page) is being opened: start the host now, while Chrome loads the
  // page, rather than once its modules ran and connected (tens of ms later). If no page takes the
  // port, it closes after the usual grace.
  if (isPageOpening(address, { mode, destination })) host.warmUp();
  if (!isCallbackNavigation(address, callbackPageOrigins)) return;
  // A renderable type: without one Chrome makes the empty answer a download (with the URL in its list).
  e.respondWith(new Response(null, { status: 204, headers: { 'Content-Type': 'text/html' } }));
  e.waitUntil(receiveCallback({ url, mode, destination }, callbackPageOrigins).catch(() => console.warn('anaf-token: callback failed')));
});

// A flow that outlived the previous worker holds the port again.
void reconcileFlows()
  .then(allFlows)
  .then(holdWhileFlowsRun)
  .catch(() => undefined);
