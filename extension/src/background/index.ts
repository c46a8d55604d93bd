/** The service worker: listeners are registered synchronously so Chrome can wake it for each event. */
import '../shared/zod-setup.js';
import browser, { type Runtime } from 'webextension-polyfill';
import { onFlowTabRemoved, onFlowTabUpdated, reconcileFlows } from './actions/obtain-token.js';
import { fetchStatuses } from './actions/status.js';
import { ensureRefreshAlarm, onAlarm } from './alarms.js';
import { route } from './router.js';

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => route(message, sender));
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

void reconcileFlows();
