/**
 * The session rule that keeps the OAuth callback inside the browser: ANAF's redirect to the
 * profile's callback URL, in the authorization tab's top frame only, becomes
 * callback.html?flow=NONCE&<the same query>, so no request ever reaches the callback host (which
 * may be an ERP vendor's site). The service worker answers that navigation itself (see
 * callback-check.ts). callback.html is web-accessible with use_dynamic_url: the rule must name it
 * by the per-session URL runtime.getURL gives, as the static one is refused to a web redirect.
 */
import { callbackRegex, callbackSubstitution } from '../../shared/callback-url.js';

export const CALLBACK_PAGE = 'callback.html';

export function callbackRule(ruleId: number, tabId: number, redirectUri: string, nonce: string): chrome.declarativeNetRequest.Rule {
  return {
    id: ruleId,
    // Above any other rule this extension may ever add for the same URL.
    priority: 100,
    action: {
      type: 'redirect',
      redirect: { regexSubstitution: callbackSubstitution(chrome.runtime.getURL(CALLBACK_PAGE), nonce) },
    },
    condition: {
      regexFilter: callbackRegex(redirectUri),
      isUrlFilterCaseSensitive: true,
      resourceTypes: ['main_frame'],
      tabIds: [tabId],
    },
  };
}

export async function installCallbackRule(ruleId: number, tabId: number, redirectUri: string, nonce: string): Promise<void> {
  await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [ruleId], addRules: [callbackRule(ruleId, tabId, redirectUri, nonce)] });
}

export async function removeCallbackRule(ruleId: number | undefined): Promise<void> {
  if (ruleId === undefined) return;
  await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [ruleId] });
}

/** Rules whose flow is gone (the worker was stopped mid-flow and the flow ended without it). */
export async function removeRulesExcept(keep: ReadonlySet<number>): Promise<void> {
  const rules = await chrome.declarativeNetRequest.getSessionRules();
  const stale = rules.map((r) => r.id).filter((id) => !keep.has(id));
  if (stale.length) await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: stale });
}
