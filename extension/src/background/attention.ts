/**
 * What the user should notice without opening the popup: the action badge (how many profiles
 * need attention) and notifications — before a token can no longer be renewed, when a refresh
 * failed, and when an authorization ended. Warnings repeat at most once a day per profile.
 */
import browser from 'webextension-polyfill';
import type { RefreshOutcome } from '#shared/protocol/messages.js';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import type { UiError } from '../shared/errors.js';
import { errorText, t } from '../shared/i18n.js';

/** Before the refresh token ends, a new authorization with the USB key is needed: warn early. */
export const REAUTHORIZE_WARN_DAYS = 30;
const URGENT_DAYS = 7;
const DAY_MS = 86_400_000;
const NOTIFIED_KEY = 'notifiedAt';
const ICON = 'icons/icon-128.png';

type Level = 'ok' | 'soon' | 'urgent';

export function attentionLevel(s: TokenStatus): Level {
  if (s.state === 'none') return 'ok';
  if (s.state === 'expired' || s.state === 'dead') return 'urgent';
  const refreshDays = s.refreshDaysLeft;
  if (refreshDays !== undefined && refreshDays <= URGENT_DAYS) return 'urgent';
  if (s.state === 'expiring' || (refreshDays !== undefined && refreshDays <= REAUTHORIZE_WARN_DAYS)) return 'soon';
  return 'ok';
}

/** What the badge shows now, as set by this worker: a status call that changes nothing sets nothing. */
let shown: string | undefined;

async function setBadge(text: string, color: string | undefined, title: string): Promise<void> {
  const key = JSON.stringify([text, color, title]);
  if (key === shown) return;
  shown = undefined;
  await browser.action.setBadgeText({ text });
  if (color) await browser.action.setBadgeBackgroundColor({ color });
  await browser.action.setTitle({ title });
  shown = key;
}

export async function updateBadge(statuses: TokenStatus[]): Promise<void> {
  const levels = statuses.map(attentionLevel);
  const count = levels.filter((l) => l !== 'ok').length;
  const title = statuses.length ? `${t('actionTitle')}\n${statuses.map((s) => `${s.profile.name}: ${t(`state_${s.state}`)}`).join('\n')}` : t('actionTitle');
  await setBadge(count ? String(count) : '', count ? (levels.includes('urgent') ? '#b91c1c' : '#b45309') : undefined, title);
}

/** The host could not be asked (most likely it is missing): "!" until a status call succeeds. */
export async function showHostTrouble(error: UiError): Promise<void> {
  await setBadge('!', '#b91c1c', `${t('actionTitle')}\n${errorText(error)}`);
}

async function notify(id: string, title: string, message: string): Promise<void> {
  try {
    await browser.notifications.create(id, { type: 'basic', iconUrl: browser.runtime.getURL(ICON), title, message });
  } catch {
    // Notifications may be disabled by the user or the system; the badge and popup still tell.
  }
}

/** True once per day per key, so the daily check does not repeat a warning within hours. */
async function dueToWarn(key: string): Promise<boolean> {
  const got = await browser.storage.local.get(NOTIFIED_KEY);
  const raw: unknown = got[NOTIFIED_KEY];
  const seen: Record<string, number> = raw && typeof raw === 'object' ? { ...(raw as Record<string, number>) } : {};
  const last = seen[key];
  if (typeof last === 'number' && Date.now() - last < DAY_MS - 60_000) return false;
  seen[key] = Date.now();
  await browser.storage.local.set({ [NOTIFIED_KEY]: seen });
  return true;
}

export async function warnAboutExpiry(statuses: TokenStatus[]): Promise<void> {
  for (const s of statuses) {
    const name = s.profile.name;
    if (s.state === 'dead' || s.state === 'expired') {
      if (await dueToWarn(`${name}:${s.state}`)) await notify(`expiry:${name}`, t('notifyTitle', name), t(`notify_${s.state}`, name));
    } else if (s.refreshDaysLeft !== undefined && s.refreshDaysLeft <= REAUTHORIZE_WARN_DAYS) {
      if (await dueToWarn(`${name}:reauthorize`)) {
        await notify(`expiry:${name}`, t('notifyTitle', name), t('notify_reauthorize', name, String(Math.max(0, s.refreshDaysLeft))));
      }
    }
  }
}

export async function notifyRefreshOutcomes(outcomes: RefreshOutcome[]): Promise<void> {
  for (const o of outcomes) {
    if (o.outcome !== 'failed' && o.outcome !== 'dead') continue;
    const why = o.error ? errorText({ source: 'host', payload: o.error }) : t(`state_${o.outcome === 'dead' ? 'dead' : 'expiring'}`);
    await notify(`refresh:${o.profile}`, t('notifyTitle', o.profile), t('notify_refreshFailed', o.profile, why));
  }
}

export async function notifyFlowEnded(profile: string, error: UiError | undefined, status?: TokenStatus): Promise<void> {
  if (error) {
    await notify(`flow:${profile}`, t('notifyTitle', profile), t('notify_obtainFailed', errorText(error)));
  } else if (status) {
    await notify(`flow:${profile}`, t('notifyTitle', profile), t('notify_obtained', String(status.accessDaysLeft ?? '?')));
  }
}
