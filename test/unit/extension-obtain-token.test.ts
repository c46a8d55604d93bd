/**
 * The "obtain token" flow of the background (extension/src/background/actions/obtain-token.ts)
 * with a fake browser and a scripted native host: the start (host, permission, tab, rule, alarm),
 * ANAF's answer through the flow's rule finishing it, and every other ending — a foreign state,
 * the tab closed, the timeout, the host failing, a worker restart — each leaving a failed flow
 * with its reason, no rule, and the native port held only while the flow runs.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { FLOWS_KEY, parseFlows, type Flow } from '../../extension/src/shared/flow-state.js';
import { EXTENSION_ID, fakeBrowser, resetFakeBrowser, scriptedHost, settle } from '../helpers/fake-browser.js';

vi.mock('webextension-polyfill', () => ({ default: fakeBrowser }));

const PROFILE = 'firma';
const REDIRECT_URI = 'https://erp.example.ro/anaf/callback';
const ANAF = 'https://logincert.anaf.ro';
const STATE = 'c3RhdGUtb2YtdGhpcy1mbG93LTAxMjM0NTY3ODlhYmNkZWY';
const AUTHORIZE_URL = `${ANAF}/anaf-oauth2/v1/authorize?client_id=c&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&state=${STATE}`;
const PAGE_ORIGIN = `chrome-extension://${EXTENSION_ID}`;

const status = (state: TokenStatus['state']): TokenStatus => ({
  profile: { name: PROFILE, clientId: 'c', redirectUri: REDIRECT_URI, env: 'prod', refreshWindowDays: 10 },
  state,
  ...(state === 'valid' ? { accessDaysLeft: 89, refreshDaysLeft: 364 } : {}),
});

const hostResults = {
  'authorize.start': { authorizeUrl: AUTHORIZE_URL, redirectUri: REDIRECT_URI, state: STATE, expiresAt: new Date(Date.now() + 600_000).toISOString() },
  'authorize.complete': status('valid'),
  status: { profiles: [status('none')] },
};

type ObtainToken = typeof import('../../extension/src/background/actions/obtain-token.js');
let flow: ObtainToken;
let witness: typeof import('../../extension/src/background/flows/redirect-witness.js');
let nativeHost: typeof import('../../extension/src/background/native/host-port.js');

function storedFlow(): Flow | undefined {
  return parseFlows(fakeBrowser.storage.session.peek(FLOWS_KEY))[PROFILE];
}

function grant(): void {
  fakeBrowser.permissions.granted.origins.add('https://erp.example.ro/*');
  fakeBrowser.permissions.granted.origins.add('https://logincert.anaf.ro/*');
  fakeBrowser.permissions.granted.permissions.add('browsingData');
}

/** What Chrome does with ANAF's redirect in the flow's tab: the rule's substitution with ANAF's query, and the redirect seen by webRequest. */
function anafRedirects(query: string): string {
  const rule = fakeBrowser.declarativeNetRequest.rules()[0]!;
  const substitution = (rule.action as { redirect: { regexSubstitution: string } }).redirect.regexSubstitution;
  witness.recordRedirect({ url: AUTHORIZE_URL, redirectUrl: `${REDIRECT_URI}?${query}`, tabId: rule.condition.tabIds![0]!, frameId: 0 });
  return substitution.replace('\\1', query);
}

const top = (url: string) => ({ url, mode: 'navigate', destination: 'document' });

beforeEach(async () => {
  resetFakeBrowser();
  fakeBrowser.native.script = scriptedHost(hostResults);
  globalThis.indexedDB = new IDBFactory();
  vi.stubGlobal('chrome', fakeBrowser);
  vi.stubGlobal('location', { origin: PAGE_ORIGIN });
  vi.resetModules();
  flow = await import('../../extension/src/background/actions/obtain-token.js');
  witness = await import('../../extension/src/background/flows/redirect-witness.js');
  nativeHost = await import('../../extension/src/background/native/host-port.js');
  const store = await import('../../extension/src/background/flows/flow-store.js');
  const { holdWhileFlowsRun } = await import('../../extension/src/background/native/flow-hold.js');
  store.onFlowsStored(holdWhileFlowsRun);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('obtain token: the start', () => {
  it("asks the host, opens ANAF's page in a new tab with a rule for that tab only, and sets the timeout", async () => {
    grant();
    await flow.startObtain(PROFILE);
    const f = storedFlow()!;
    expect(f).toMatchObject({ profile: PROFILE, phase: 'waiting', redirectUri: REDIRECT_URI, authorizeOrigin: ANAF });
    expect(f.tabId).toBeDefined();
    expect(fakeBrowser.tabs.all.get(f.tabId!)?.url).toBe(AUTHORIZE_URL);
    const rules = fakeBrowser.declarativeNetRequest.rules();
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ id: f.tabId, condition: { tabIds: [f.tabId] } });
    expect(fakeBrowser.alarms.all.get(`${flow.FLOW_ALARM_PREFIX}${PROFILE}`)?.scheduledTime).toBe(f.deadline);
    // Nothing secret is stored: the state only as its digest.
    expect(JSON.stringify(fakeBrowser.storage.session.peek(FLOWS_KEY))).not.toContain(STATE);
    const sent = fakeBrowser.native.ports.flatMap((p) => p.posted.map((m) => m.type));
    expect(sent).toEqual(['hello', 'authorize.start']);
  });

  it('without host access to the callback origin: a failed flow (PERMISSION_NEEDED), no tab, no rule', async () => {
    await expect(flow.startObtain(PROFILE)).rejects.toMatchObject({ code: 'PERMISSION_NEEDED', params: ['erp.example.ro'] });
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { source: 'extension', code: 'PERMISSION_NEEDED' } });
    expect(fakeBrowser.tabs.all.size).toBe(0);
    expect(fakeBrowser.declarativeNetRequest.rules()).toEqual([]);
  });

  it("the host's refusal ends the flow with the host's error, in both languages", async () => {
    grant();
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'authorize.start')
        p.answer({ id: m.id, ok: false, error: { code: 'PROFILE_NOT_FOUND', message: { en: 'No profile.', ro: 'Nu există profilul.' } } });
      else scriptedHost(hostResults)(m, p);
    };
    await expect(flow.startObtain(PROFILE)).rejects.toThrow();
    expect(storedFlow()).toMatchObject({
      phase: 'failed',
      error: { source: 'host', payload: { code: 'PROFILE_NOT_FOUND', message: { ro: 'Nu există profilul.' } } },
    });
    expect(fakeBrowser.tabs.all.size).toBe(0);
  });

  // Chrome drops a navigation asked for while the tab's about:blank is still committing (the tab stays empty).
  it('sends the new tab to ANAF only once its about:blank has loaded', async () => {
    grant();
    await flow.startObtain(PROFILE);
    expect(fakeBrowser.tabs.updates).toEqual([expect.objectContaining({ url: 'about:blank', status: 'complete' })]);
  });

  it('a tab already loaded when the flow looks (its event gone by) goes to ANAF at once', async () => {
    grant();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    fakeBrowser.tabs.loadedAtCreate = true;
    const started = flow.startObtain(PROFILE);
    await vi.advanceTimersByTimeAsync(0);
    await started;
    expect(fakeBrowser.tabs.updates).toEqual([expect.objectContaining({ url: 'about:blank', status: 'complete' })]);
  });

  it('a tab whose about:blank never reports loaded still goes to ANAF, after 2 s', async () => {
    grant();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    fakeBrowser.tabs.stallLoads = true;
    const started = flow.startObtain(PROFILE);
    await vi.advanceTimersByTimeAsync(1_900);
    expect(fakeBrowser.tabs.updates).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    await started;
    expect(fakeBrowser.tabs.updates).toEqual([expect.objectContaining({ url: 'about:blank', status: 'loading' })]);
    expect(fakeBrowser.tabs.all.get(storedFlow()!.tabId!)?.url).toBe(AUTHORIZE_URL);
  });

  it('a new start replaces the running flow of the profile: its tab and rule go', async () => {
    grant();
    await flow.startObtain(PROFILE);
    const first = storedFlow()!;
    await flow.startObtain(PROFILE);
    const second = storedFlow()!;
    expect(second.tabId).not.toBe(first.tabId);
    expect(fakeBrowser.tabs.all.has(first.tabId!)).toBe(false);
    expect(fakeBrowser.declarativeNetRequest.rules().map((r) => r.id)).toEqual([second.tabId]);
  });
});

describe("obtain token: ANAF's answer", () => {
  it('through the rule, in the flow tab, with its state: the host completes it, the tab and rule go, the status is cached', async () => {
    grant();
    await flow.startObtain(PROFILE);
    const tabId = storedFlow()!.tabId!;
    await flow.receiveCallback(top(anafRedirects(`code=the-code&state=${STATE}`)), [PAGE_ORIGIN]);
    expect(storedFlow()).toMatchObject({ phase: 'done' });
    const complete = fakeBrowser.native.ports.flatMap((p) => p.requests('authorize.complete'));
    expect(complete).toEqual([expect.objectContaining({ profile: PROFILE, callbackUrl: `${REDIRECT_URI}?code=the-code&state=${STATE}` })]);
    expect(fakeBrowser.tabs.all.has(tabId)).toBe(false);
    expect(fakeBrowser.declarativeNetRequest.rules()).toEqual([]);
    expect(fakeBrowser.alarms.all.size).toBe(0);
    expect(fakeBrowser.notifications.shown.get(`flow:${PROFILE}`)?.message).toBe('notify_obtained|89');
    const { readCachedStatuses } = await import('../../extension/src/shared/status-cache.js');
    expect((await readCachedStatuses()).profiles).toEqual([status('valid')]);
    // ANAF's redirect (it carried the code) is dropped from the HTTP cache.
    expect(fakeBrowser.browsingData.removed).toEqual([expect.objectContaining({ origins: [ANAF] })]);
  });

  it("a state that is not the flow's: refused before the host hears of it; the flow fails, its tab shows why", async () => {
    grant();
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await flow.startObtain(PROFILE);
    const tabId = storedFlow()!.tabId!;
    await flow.receiveCallback(top(anafRedirects('code=the-code&state=someone-elses-state')), [PAGE_ORIGIN]);
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { code: 'CALLBACK_UNEXPECTED' } });
    expect(fakeBrowser.native.ports.flatMap((p) => p.requests('authorize.complete'))).toEqual([]);
    expect(fakeBrowser.tabs.all.get(tabId)?.url).toBe(`${PAGE_ORIGIN}/callback.html`);
    expect(fakeBrowser.declarativeNetRequest.rules()).toEqual([]);
  });

  it("the host failing the exchange leaves the flow failed with the host's error, the tab open to show it", async () => {
    grant();
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'authorize.complete') p.answer({ id: m.id, ok: false, error: { code: 'INTERNAL', message: { en: 'Unexpected.', ro: 'Neașteptat.' } } });
      else scriptedHost(hostResults)(m, p);
    };
    await flow.startObtain(PROFILE);
    const tabId = storedFlow()!.tabId!;
    await flow.receiveCallback(top(anafRedirects(`code=c&state=${STATE}`)), [PAGE_ORIGIN]);
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { source: 'host', payload: { code: 'INTERNAL' } } });
    expect(fakeBrowser.tabs.all.has(tabId)).toBe(true);
  });

  it('the host crashing during the exchange fails the flow with the reason, not a hang', async () => {
    grant();
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'authorize.complete') p.exit('Native host has exited.');
      else scriptedHost(hostResults)(m, p);
    };
    await flow.startObtain(PROFILE);
    await flow.receiveCallback(top(anafRedirects(`code=c&state=${STATE}`)), [PAGE_ORIGIN]);
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { source: 'extension', code: 'HOST_FAILED', detail: 'Native host has exited.' } });
    expect(fakeBrowser.notifications.shown.get(`flow:${PROFILE}`)?.message).toContain('notify_obtainFailed');
  });
});

describe('obtain token: other endings', () => {
  it('the user closes the tab: TAB_CLOSED, rule removed', async () => {
    grant();
    await flow.startObtain(PROFILE);
    await flow.onFlowTabRemoved(storedFlow()!.tabId!);
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { code: 'TAB_CLOSED' } });
    expect(fakeBrowser.declarativeNetRequest.rules()).toEqual([]);
  });

  it('ANAF shows its own page (no certificate): the flow waits on with a notice, which becomes the reason if the tab closes', async () => {
    grant();
    await flow.startObtain(PROFILE);
    const tabId = storedFlow()!.tabId!;
    await flow.onFlowTabUpdated(
      tabId,
      { status: 'complete' },
      { url: `${ANAF}/anaf-oauth2/v1/authorize`, index: 0, highlighted: false, active: true, pinned: false, incognito: false },
    );
    expect(storedFlow()).toMatchObject({ phase: 'waiting', notice: { code: 'NO_CERTIFICATE', params: ['logincert.anaf.ro'] } });
    await flow.onFlowTabRemoved(tabId);
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { code: 'NO_CERTIFICATE' } });
  });

  it('the timeout: AUTH_TIMEOUT, its tab closed', async () => {
    grant();
    await flow.startObtain(PROFILE);
    const tabId = storedFlow()!.tabId!;
    await flow.onFlowTimeout(PROFILE);
    expect(storedFlow()).toMatchObject({ phase: 'failed', error: { code: 'AUTH_TIMEOUT', params: ['5'] } });
    expect(fakeBrowser.tabs.all.has(tabId)).toBe(false);
    // A late answer through the (removed) rule's URL finds no flow.
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await flow.receiveCallback(top(`${PAGE_ORIGIN}/callback.html?flow=AAAAAAAAAAAAAAAAAAAAAA&code=c&state=${STATE}`), [PAGE_ORIGIN]);
    expect(fakeBrowser.native.ports.flatMap((p) => p.requests('authorize.complete'))).toEqual([]);
  });

  it('a worker restart: a flow caught completing fails; one whose tab is gone fails; stale rules go', async () => {
    await fakeBrowser.storage.session.set({
      [FLOWS_KEY]: {
        [PROFILE]: { profile: PROFILE, phase: 'completing', startedAt: 1, tabId: 5, ruleId: 5 },
        alta: { profile: 'alta', phase: 'waiting', startedAt: 1, tabId: 6, ruleId: 6 },
      },
    });
    await fakeBrowser.declarativeNetRequest.updateSessionRules({ addRules: [{ id: 6, condition: { tabIds: [6] }, action: {} }] });
    await flow.reconcileFlows();
    const flows = parseFlows(fakeBrowser.storage.session.peek(FLOWS_KEY));
    expect(flows[PROFILE]).toMatchObject({ phase: 'failed', error: { code: 'EXTENSION_FAILED' } });
    expect(flows.alta).toMatchObject({ phase: 'failed', error: { code: 'TAB_CLOSED' } });
    expect(fakeBrowser.declarativeNetRequest.rules()).toEqual([]);
  });
});

describe('obtain token: the native port', () => {
  it('is held while the flow waits and completes, and released when it ends', async () => {
    grant();
    let finish: (() => void) | undefined;
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'authorize.complete') finish = () => scriptedHost(hostResults)(m, p);
      else scriptedHost(hostResults)(m, p);
    };
    await flow.startObtain(PROFILE);
    const port = nativeHost.host.port;
    expect(port.held).toBe(true);
    expect(port.current.kind).toBe('ready');
    const done = flow.receiveCallback(top(anafRedirects(`code=c&state=${STATE}`)), [PAGE_ORIGIN]);
    await vi.waitFor(() => expect(finish).toBeDefined());
    expect(storedFlow()?.phase).toBe('completing');
    expect(port.held).toBe(true);
    finish!();
    await done;
    await settle();
    expect(port.held).toBe(false);
    // One host served the whole flow.
    expect(fakeBrowser.native.ports).toHaveLength(1);
  });

  it('a flow that fails at once does not keep it', async () => {
    await expect(flow.startObtain(PROFILE)).rejects.toMatchObject({ code: 'PERMISSION_NEEDED' });
    expect(nativeHost.host.port.held).toBe(false);
  });
});
