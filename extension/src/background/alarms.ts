/**
 * The daily check: the host refreshes every token inside its refresh window (the host decides
 * what is due), then the badge and notifications warn about what still needs the user.
 */
import browser, { type Alarms } from 'webextension-polyfill';
import { toUiError } from '../shared/errors.js';
import { notifyRefreshOutcomes, showHostTrouble, warnAboutExpiry } from './attention.js';
import { FLOW_ALARM_PREFIX, onFlowTimeout } from './actions/obtain-token.js';
import { fetchStatuses } from './actions/status.js';
import { host } from './native/host-port.js';

export const REFRESH_ALARM = 'refresh-due';
const DAY_MINUTES = 24 * 60;

export async function ensureRefreshAlarm(): Promise<void> {
  if (await browser.alarms.get(REFRESH_ALARM)) return;
  // A first run soon after the browser starts, then daily (alarms survive worker restarts).
  await browser.alarms.create(REFRESH_ALARM, { delayInMinutes: 1, periodInMinutes: DAY_MINUTES });
}

export async function runDailyCheck(): Promise<void> {
  try {
    const { outcomes } = await host.request({ type: 'refresh.due' });
    await notifyRefreshOutcomes(outcomes);
    await warnAboutExpiry(await fetchStatuses());
  } catch (e) {
    // Most likely the host is missing: say so once, the popup explains how to install it.
    await showHostTrouble(toUiError(e));
  }
}

export async function onAlarm(alarm: Alarms.Alarm): Promise<void> {
  if (alarm.name === REFRESH_ALARM) await runDailyCheck();
  else if (alarm.name.startsWith(FLOW_ALARM_PREFIX)) await onFlowTimeout(alarm.name.slice(FLOW_ALARM_PREFIX.length));
}
