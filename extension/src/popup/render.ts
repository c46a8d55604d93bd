/**
 * One card per profile, built with DOM calls only (no HTML strings, so nothing from a profile can
 * inject markup). Shows days left as bars, the certificate holder, the last refresh and the state;
 * never a token. Controls carry data-testid for automation.
 */
import type { TokenCheck } from '#shared/schemas/token-check.js';
import type { TokenState, TokenStatus } from '#shared/schemas/token-status.js';
import type { UiError } from '../shared/errors.js';
import type { Flow } from '../shared/flow-state.js';
import { formatDate, showError, t } from '../shared/i18n.js';
import { el } from '../shared/dom.js';

const DAY_MS = 86_400_000;
/** Full bars: the lifetimes ANAF gives (JWT access token ~90 days, refresh token ~365). */
const ACCESS_DAYS = 90;
const REFRESH_DAYS = 365;
/** Matches the background's badge: a new authorization is due within this many days. */
const REAUTHORIZE_WARN_DAYS = 30;

type BarLevel = 'ok' | 'soon' | 'over';

export interface CardActions {
  obtain(profile: TokenStatus): void;
  refresh(profile: TokenStatus, button: HTMLButtonElement): void;
  revoke(profile: TokenStatus, button: HTMLButtonElement): void;
  /** "Check": ask ANAF whether the stored access token works now. */
  check(profile: TokenStatus, button: HTMLButtonElement): void;
  dismiss(profile: TokenStatus): void;
  /** "name it": the token has no certificate subject, the user says which certificate it was. */
  startLabel(profile: TokenStatus): void;
  saveLabel(profile: TokenStatus, label: string): void;
}

export interface CardView {
  status: TokenStatus;
  flow: Flow | undefined;
  /** An error from the last button press (refresh, revoke, obtain, check) in this popup. */
  actionError: UiError | undefined;
  /** What ANAF said to the last "Check" in this popup. */
  check: TokenCheck | undefined;
  busy: boolean;
  /** What the last button press wants the user to know (e.g. that ANAF did not confirm a revocation). */
  notice: string | undefined;
  /** The "name it" field is open for this profile. */
  labeling: boolean;
}

/** The localized state name, followed by the state word when the label does not already contain it. */
function stateElement(name: string, state: TokenState): HTMLElement {
  const label = t(`state_${state}`);
  const out = el('span', { class: 'state', testid: `status-${name}`, text: label });
  out.dataset.state = state;
  if (!label.toLowerCase().includes(state)) out.append(el('code', { class: 'state-code', text: state }));
  return out;
}

function daysText(days: number | undefined): string {
  if (days === undefined) return '—';
  if (days < 0) return t('expiredLabel');
  return t('daysLeft', String(days));
}

function meter(label: string, testid: string, days: number | undefined, fraction: number, level: BarLevel): HTMLElement {
  const f = Math.min(1, Math.max(0, fraction));
  const fill = el('div', { class: `fill ${level}` });
  fill.style.width = `${Math.round(f * 100)}%`;
  const bar = el('div', { class: 'bar' }, fill);
  bar.setAttribute('role', 'meter');
  bar.setAttribute('aria-label', label);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', String(Math.round(f * 100)));
  return el(
    'div',
    { class: 'meter' },
    el('div', { class: 'line' }, el('span', { text: label }), el('span', { class: 'value', testid, text: daysText(days) })),
    bar,
  );
}

/** Time left over the usual lifetime (or the real one when longer), so bars compare across profiles. */
function fractionLeft(endIso: string | undefined, startIso: string | undefined, usualDays: number): number {
  if (!endIso) return 0;
  const end = Date.parse(endIso);
  const start = startIso ? Date.parse(startIso) : end;
  return (end - Date.now()) / Math.max(usualDays * DAY_MS, end - start);
}

function accessLevel(state: TokenState): BarLevel {
  if (state === 'expired' || state === 'dead') return 'over';
  return state === 'expiring' ? 'soon' : 'ok';
}

function refreshLevel(state: TokenState, days: number | undefined): BarLevel {
  if (state === 'dead' || (days !== undefined && days < 0)) return 'over';
  return days !== undefined && days <= REAUTHORIZE_WARN_DAYS ? 'soon' : 'ok';
}

/** "CN=POPESCU ION,serialNumber=…" → "POPESCU ION". */
export function holderName(subject: string | undefined): string | undefined {
  if (!subject) return undefined;
  const cn = /(?:^|,)\s*CN=([^,]+)/.exec(subject);
  return (cn?.[1] ?? subject).trim();
}

function flowLine(name: string, flow: Flow | undefined): HTMLElement | undefined {
  if (!flow) return undefined;
  if (flow.phase === 'waiting') return el('p', { class: 'flow', testid: `flow-${name}`, text: t('flow_waiting') });
  if (flow.phase === 'completing') return el('p', { class: 'flow', testid: `flow-${name}`, text: t('flow_completing') });
  if (flow.phase === 'done' && flow.finishedAt !== undefined) {
    const seconds = ((flow.finishedAt - flow.startedAt) / 1000).toFixed(1);
    return el('p', { class: 'flow', testid: `flow-${name}`, text: t('flow_done', seconds) });
  }
  return undefined;
}

function errorLine(name: string, error: UiError, onDismiss: (() => void) | undefined): HTMLElement {
  const text = el('span');
  showError(text, error);
  const line = el('p', { class: 'error', testid: `error-${name}` }, text);
  line.setAttribute('role', 'alert');
  if (onDismiss) {
    const x = el('button', { testid: `dismiss-${name}`, text: '×' });
    x.title = t('btnDismiss');
    x.setAttribute('aria-label', t('btnDismiss'));
    x.addEventListener('click', onDismiss);
    line.append(x);
  }
  return line;
}

/** The verdict of "Check" in one line; its data-result says which, for styling and automation. */
function checkLine(name: string, c: TokenCheck): HTMLElement {
  const when = formatDate(c.checkedAt);
  const what = c.detail ?? (c.httpStatus !== undefined ? `HTTP ${c.httpStatus}` : '—');
  const text =
    c.result === 'ok' ? t('check_ok', when) : c.result === 'not-authorized' ? t('check_not_authorized', what, when) : t('check_unavailable', what, when);
  const line = el('p', { class: `check check-${c.result}`, testid: `check-result-${name}`, text });
  line.dataset.result = c.result;
  if (c.result === 'not-authorized') line.setAttribute('role', 'alert');
  return line;
}

function button(text: string, testid: string, cls = ''): HTMLButtonElement {
  const b = el('button', { testid, text, class: cls });
  b.type = 'button';
  return b;
}

function labelForm(status: TokenStatus, actions: CardActions): HTMLElement {
  const name = status.profile.name;
  const input = el('input', { testid: `label-input-${name}` });
  input.maxLength = 128;
  input.placeholder = t('nameItPlaceholder');
  input.value = status.certificate?.label ?? '';
  input.setAttribute('aria-label', t('btnNameItHelp'));
  const save = button(t('btnNameSave'), `label-save-${name}`);
  save.type = 'submit';
  const form = el('form', { class: 'label-form' }, input, save);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const label = input.value.trim();
    if (label) actions.saveLabel(status, label);
  });
  queueMicrotask(() => input.focus());
  return form;
}

/** The holder from ANAF's token or the token listing, then the user's own name for it when there is one. */
function certificateCell(view: CardView, actions: CardActions): HTMLElement {
  const { status } = view;
  const name = status.profile.name;
  const holder = holderName(status.certificate?.subject);
  const dd = el('dd', {}, el('span', { testid: `holder-${name}`, text: holder ?? '—' }));
  const label = status.certificate?.label;
  if (label) dd.append(el('span', { class: 'cert-label', testid: `cert-label-${name}`, text: ` · ${label}` }));
  // ANAF's token names the certificate by serial and issuer only; the name comes from the USB key.
  const serial = status.certificate?.serialHex;
  if (serial) {
    const issuer = status.certificate?.issuer;
    dd.append(el('div', { class: 'cert-serial', testid: `cert-serial-${name}`, text: t('certificateSerial', serial, issuer ?? '—') }));
  }
  // Without a subject nothing tells which certificate authenticated: let the user name it.
  if (holder === undefined) {
    if (view.labeling) dd.append(labelForm(status, actions));
    else {
      const nameIt = button(t('btnNameIt'), `label-${name}`, 'link');
      nameIt.title = t('btnNameItHelp');
      nameIt.disabled = view.busy;
      nameIt.addEventListener('click', () => actions.startLabel(status));
      dd.append(nameIt);
    }
  }
  return dd;
}

export function renderCard(view: CardView, actions: CardActions): HTMLElement {
  const { status, flow } = view;
  const name = status.profile.name;
  const card = el('section', { class: `card state-${status.state}` });
  card.dataset.profile = name;

  card.append(el('div', { class: 'head' }, el('h2', { text: name }), stateElement(name, status.state)));
  if (status.state !== 'none') {
    const accessStart = status.lastRefreshAt ?? status.authorizedAt;
    card.append(
      meter(
        t('accessToken'),
        `access-days-${name}`,
        status.accessDaysLeft,
        fractionLeft(status.accessExpiresAt, accessStart, ACCESS_DAYS),
        accessLevel(status.state),
      ),
      meter(
        t('refreshToken'),
        `refresh-days-${name}`,
        // ANAF refused it: its nominal days left mean nothing any more.
        status.state === 'dead' ? undefined : status.refreshDaysLeft,
        status.state === 'dead' ? 0 : fractionLeft(status.refreshExpiresAt, status.authorizedAt, REFRESH_DAYS),
        refreshLevel(status.state, status.refreshDaysLeft),
      ),
    );
  }
  if (status.state !== 'none') {
    const facts = el('dl', { class: 'facts' });
    facts.append(
      el('dt', { text: t('certificateHolder') }),
      certificateCell(view, actions),
      el('dt', { text: t('lastRefresh') }),
      el('dd', { testid: `last-refresh-${name}`, text: status.lastRefreshAt ? formatDate(status.lastRefreshAt) : t('never') }),
      el('dt', { text: t('authorizedAt') }),
      el('dd', { testid: `authorized-${name}`, text: formatDate(status.authorizedAt) }),
    );
    card.append(facts);
  }

  const line = flowLine(name, flow);
  if (line) card.append(line);
  const flowError = flow?.phase === 'failed' ? flow.error : flow?.phase === 'waiting' ? flow.notice : undefined;
  const shownError = view.actionError ?? flowError;
  if (shownError) card.append(errorLine(name, shownError, flow?.phase === 'failed' || view.actionError ? () => actions.dismiss(status) : undefined));
  else if (view.notice) card.append(el('p', { class: 'notice', testid: `notice-${name}`, text: view.notice }));
  else if (status.state === 'dead') {
    card.append(el('p', { class: 'error', testid: `dead-advice-${name}`, text: t('deadAdvice') }));
    if (status.lastError) card.append(el('p', { class: 'error', testid: `last-error-${name}`, text: t('lastErrorLabel', status.lastError) }));
  } else if (status.lastError && (status.state === 'expiring' || status.state === 'expired')) {
    card.append(el('p', { class: 'error', testid: `last-error-${name}`, text: t('lastErrorLabel', status.lastError) }));
  }

  if (view.check && status.state !== 'none') card.append(checkLine(name, view.check));

  const inFlow = flow?.phase === 'waiting' || flow?.phase === 'completing';
  // After ANAF showed its own page the user fixes the cause (key, driver) and starts again.
  const canRestart = flow?.phase === 'waiting' && flow.notice !== undefined;
  const obtain = button(
    t(status.state === 'none' || status.state === 'dead' ? 'btnObtain' : 'btnObtainAgain'),
    `obtain-${name}`,
    status.state === 'none' || status.state === 'dead' || status.state === 'expired' ? 'primary' : '',
  );
  obtain.title = t('btnObtainHelp');
  obtain.disabled = (inFlow && !canRestart) || view.busy;
  obtain.addEventListener('click', () => actions.obtain(status));
  const refresh = button(t('btnRefresh'), `refresh-${name}`);
  refresh.disabled = inFlow || view.busy || status.state === 'none' || status.state === 'dead';
  refresh.addEventListener('click', () => actions.refresh(status, refresh));
  const check = button(t('btnCheck'), `check-${name}`);
  check.title = t('btnCheckHelp');
  check.disabled = inFlow || view.busy || status.state === 'none';
  check.addEventListener('click', () => actions.check(status, check));
  const revoke = button(t('btnRevoke'), `revoke-${name}`, 'danger');
  revoke.disabled = inFlow || view.busy || status.state === 'none';
  revoke.addEventListener('click', () => actions.revoke(status, revoke));
  card.append(el('div', { class: 'actions' }, obtain, refresh, check, revoke));
  return card;
}
