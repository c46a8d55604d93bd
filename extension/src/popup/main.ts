/**
 * The popup: draws at once from the IndexedDB cache, then asks the host (through the
 * background) and redraws; redraws again whenever a flow or the cache changes. Whichever
 * comes first is drawn first: with the host's port already open its answer beats the cache.
 */
import '../shared/zod-setup.js';
import '../shared/page.css';
import './popup.css';
import browser, { type Storage } from 'webextension-polyfill';
import type { TokenCheck } from '#shared/schemas/token-check.js';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { ask, connectBackground } from '../shared/background-client.js';
import { certSummary, type CertSummary } from '../shared/cert-summary.js';
import { flowOrigins, flowPermissions } from '../shared/callback-url.js';
import { ExtError, toUiError, type UiError } from '../shared/errors.js';
import { FLOWS_KEY, STATUS_STAMP_KEY, parseFlows, type Flows } from '../shared/flow-state.js';
import { formatDate, localizePage, showError, t } from '../shared/i18n.js';
import { readCachedStatuses, type CachedStatuses } from '../shared/status-cache.js';
import { renderCard, type CardActions } from './render.js';
import { wireRequestPaste } from '../request/paste.js';

// First: the host (already started by the worker when it saw this page fetched) stays while it is open.
connectBackground();
// Answering a request link needs no host: the field works whatever the host says.
wireRequestPaste();

const POPUP_MARKS = { cache: 'anaf:drawn-from-cache', host: 'anaf:drawn-from-host', certs: 'anaf:certs-drawn' } as const;
const REVOKE_CONFIRM_MS = 4000;
/** The certificate line is a hint: a slow or failing driver must not delay or clutter the popup. */
const CERTS_WAIT_MS = 3000;
/** A listing older than this may describe a token that has since been unplugged. */
const CERTS_CACHE_MS = 10 * 60_000;

const state = {
  profiles: [] as TokenStatus[],
  flows: {} as Flows,
  fromHost: false,
  fetchedAt: undefined as number | undefined,
  hostError: undefined as UiError | undefined,
  actionErrors: new Map<string, UiError>(),
  notices: new Map<string, string>(),
  /** The last "Check" verdict per profile, until another action on that profile makes it stale. */
  checks: new Map<string, TokenCheck>(),
  busy: new Set<string>(),
  /** What each profile's flow needs (callback host, browsingData), known before a click needs it. */
  granted: new Map<string, boolean>(),
  /** What the token(s) and the browser's own store hold for ANAF's login; undefined: show nothing. */
  certs: undefined as CertSummary | undefined,
  labeling: new Set<string>(),
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function checkPermissions(): Promise<void> {
  for (const p of state.profiles) {
    state.granted.set(p.profile.name, await browser.permissions.contains(flowPermissions(flowOrigins(p.profile.redirectUri, p.profile.env))));
  }
}

function draw(): void {
  const list = $('profiles');
  list.replaceChildren(
    ...state.profiles.map((status) =>
      renderCard(
        {
          status,
          flow: state.flows[status.profile.name],
          actionError: state.actionErrors.get(status.profile.name),
          notice: state.notices.get(status.profile.name),
          check: state.checks.get(status.profile.name),
          busy: state.busy.has(status.profile.name),
          labeling: state.labeling.has(status.profile.name),
        },
        actions,
      ),
    ),
  );
  document.body.classList.toggle('stale', !state.fromHost);
  const empty = $('empty');
  // "No profiles" only when the host said so; with the host missing the banner says what to do.
  empty.hidden = state.profiles.length > 0 || !state.fromHost;
  empty.textContent = t('popupProfilesEmpty');
  const certs = $('certs-summary');
  const summary = state.certs;
  // "No usable certificate" matters only when a profile needs the USB key now (no token, or a dead one):
  // a user whose tokens are fine is not alarmed. cert-summary.ts never says it while the browser's
  // own store (where Windows puts the token's certificate) has a usable one.
  const needsKey = state.profiles.some((p) => p.state === 'none' || p.state === 'dead');
  certs.hidden = summary === undefined || state.profiles.length === 0 || (summary.kind === 'none' && !needsKey);
  certs.className = `certs-summary ${summary?.kind === 'none' ? 'warn' : 'ok'}`;
  certs.textContent =
    summary === undefined
      ? ''
      : summary.kind === 'token'
        ? t('popupCertOnToken', summary.holders.join(', '))
        : summary.kind === 'browser'
          ? t('popupCertInBrowser', summary.holders.join(', '))
          : t('popupNoUsableCert');
  if (summary?.kind === 'none') certs.setAttribute('role', 'alert');
  else certs.removeAttribute('role');
  const banner = $('host-error');
  banner.hidden = state.hostError === undefined;
  if (state.hostError) showError(banner, state.hostError);
  else banner.textContent = '';
  $('freshness').textContent = state.fromHost
    ? t('freshFromHost', formatDate(new Date(state.fetchedAt ?? Date.now()).toISOString()))
    : state.fetchedAt
      ? t('freshFromCache', formatDate(new Date(state.fetchedAt).toISOString()))
      : '';
}

function useCache(cached: CachedStatuses): void {
  state.profiles = cached.profiles;
  // Only the background writes the cache, right after the host answered.
  state.fetchedAt = cached.fetchedAt;
}

async function loadCache(): Promise<void> {
  useCache(await readCachedStatuses());
}

async function loadFlows(): Promise<void> {
  state.flows = parseFlows((await browser.storage.session.get(FLOWS_KEY))[FLOWS_KEY]);
}

/** `asked`: the status request, sent before the cache was read so that both run at once. */
async function loadFromHost(asked: Promise<{ profiles: TokenStatus[] }>): Promise<void> {
  try {
    const { profiles } = await asked;
    state.profiles = profiles;
    state.fromHost = true;
    state.fetchedAt = Date.now();
    state.hostError = undefined;
  } catch (e) {
    state.hostError = toUiError(e);
  }
}

const recent = <T extends { at: number }>(c: T | undefined): T | undefined => (c && Date.now() - c.at < CERTS_CACHE_MS ? c : undefined);

/**
 * Runs beside the status call and never awaited by a click: the obtain button works meanwhile.
 * The host is asked once it has answered `status`: it works on requests side by side, and a
 * certificate listing (seconds, with a slow token driver) would hold the status answer up.
 */
async function loadCertificates(status: Promise<unknown>): Promise<void> {
  const { readCachedBrowserCerts, readCachedCerts } = await import('../shared/certs-cache.js');
  const [cachedToken, cachedBrowser] = await Promise.all([readCachedCerts().catch(() => undefined), readCachedBrowserCerts().catch(() => undefined)]);
  const token = recent(cachedToken)?.listing;
  const store = recent(cachedBrowser)?.listing;
  if (token || store) {
    state.certs = certSummary(token, store);
    draw();
  }
  await status.catch(() => undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tooSlow = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), CERTS_WAIT_MS);
  });
  // Both asked at once, both under the same deadline: a missing answer is "unknown", never "none".
  const [freshToken, freshBrowser] = await Promise.all([
    Promise.race([ask({ kind: 'certs.list' }).catch(() => undefined), tooSlow]),
    Promise.race([ask({ kind: 'certs.browser' }).catch(() => undefined), tooSlow]),
  ]);
  clearTimeout(timer);
  state.certs = certSummary(freshToken, freshBrowser);
  draw();
  performance.mark(POPUP_MARKS.certs);
}

async function runAction(name: string, button: HTMLButtonElement | undefined, fn: () => Promise<unknown>): Promise<void> {
  state.busy.add(name);
  state.actionErrors.delete(name);
  state.notices.delete(name);
  state.checks.delete(name);
  button?.setAttribute('aria-busy', 'true');
  draw();
  try {
    await fn();
  } catch (e) {
    state.actionErrors.set(name, toUiError(e));
  } finally {
    state.busy.delete(name);
    await loadCache();
    draw();
  }
}

const revokeArmed = new Map<string, number>();

const actions: CardActions = {
  obtain(status) {
    const name = status.profile.name;
    const origins = flowOrigins(status.profile.redirectUri, status.profile.env);
    // permissions.request must run inside the click, before any await, or Chrome refuses it.
    const permitted = state.granted.get(name) ? Promise.resolve(true) : chrome.permissions.request(flowPermissions(origins));
    void runAction(name, undefined, async () => {
      if (!(await permitted)) throw new ExtError('PERMISSION_NEEDED', [new URL(status.profile.redirectUri).host]);
      state.granted.set(name, true);
      await ask({ kind: 'obtain', profile: name });
    });
  },
  refresh(status, button) {
    void runAction(status.profile.name, button, () => ask({ kind: 'refresh', profile: status.profile.name }));
  },
  check(status, button) {
    const name = status.profile.name;
    void runAction(name, button, async () => {
      state.checks.set(name, await ask({ kind: 'token.check', profile: name }));
    });
  },
  revoke(status, button) {
    const name = status.profile.name;
    // Two clicks: revoking means the USB key is needed again.
    if ((revokeArmed.get(name) ?? 0) < Date.now()) {
      revokeArmed.set(name, Date.now() + REVOKE_CONFIRM_MS);
      button.textContent = t('btnRevokeConfirm');
      setTimeout(() => {
        if (button.isConnected) button.textContent = t('btnRevoke');
      }, REVOKE_CONFIRM_MS);
      return;
    }
    revokeArmed.delete(name);
    void runAction(name, button, async () => {
      const r = await ask({ kind: 'revoke', profile: name });
      state.notices.set(name, t(r.anafConfirmed ? 'revokeConfirmed' : 'revokeUnconfirmed'));
    });
  },
  startLabel(status) {
    state.labeling.add(status.profile.name);
    draw();
  },
  saveLabel(status, label) {
    const name = status.profile.name;
    void runAction(name, undefined, async () => {
      await ask({ kind: 'token.label', profile: name, label });
      state.labeling.delete(name);
    });
  },
  dismiss(status) {
    const name = status.profile.name;
    state.actionErrors.delete(name);
    draw();
    void ask({ kind: 'flow.dismiss', profile: name }).catch(() => undefined);
  },
};

browser.storage.session.onChanged.addListener((changes: Storage.StorageAreaOnChangedChangesType) => {
  void (async () => {
    if (FLOWS_KEY in changes) await loadFlows();
    if (STATUS_STAMP_KEY in changes) {
      await loadCache();
      await checkPermissions();
    }
    draw();
  })();
});

localizePage();
void (async () => {
  const asked = ask({ kind: 'status' });
  asked.catch(() => undefined); // handled in loadFromHost
  const flows = loadFlows();
  // Drawn as soon as the host answers: with its port already open (another page, a reopened
  // popup) that is before the cache is read, and the cache is then not drawn at all.
  const fromHost = Promise.all([loadFromHost(asked), flows.catch(() => undefined)]).then(async () => {
    draw();
    performance.mark(POPUP_MARKS.host);
    // Profiles the cache did not have: a click on one before this asks Chrome, which answers at once when granted.
    await checkPermissions();
  });
  const [cached] = await Promise.all([readCachedStatuses(), flows]);
  if (!state.fromHost) {
    useCache(cached);
    // Known before the first card is drawn, so a click never has to guess (see actions.obtain).
    await checkPermissions();
    if (!state.fromHost) draw();
  }
  // Marks for the benchmark (scripts/bench/popup.ts): when the cached statuses were read (and
  // drawn, unless the host's were already on screen), when the host's were drawn, and when the
  // certificate line was (its listings answered, or given up after CERTS_WAIT_MS).
  performance.mark(POPUP_MARKS.cache);
  // The certificate line is only a hint.
  void loadCertificates(asked);
  await fromHost;
})();
