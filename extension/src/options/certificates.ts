/**
 * Options: "Certificates on the USB token". What the host reads from each PKCS#11 driver without
 * a PIN, with the warnings the user would otherwise learn from ANAF's "Access denied", and an
 * optional PIN check per certificate. The PIN is read from its field once, sent, and the field
 * cleared; it is never kept in this page's state.
 * Beside it, "Certificates the browser will offer": the store the browser itself uses. When no
 * token is read through a driver but that store has a usable certificate (Windows, where the
 * token's minidriver fills it), the page says the login can work instead of "no USB token".
 */
import { CERTIFICATE_HOLDER_TEXT, CERTIFICATE_WARNING_TEXT, certificateHolder, certificateWarnings } from '#shared/certificate-warnings.js';
import type { ResultOf } from '#shared/protocol/messages.js';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import type { CertificateDetails, ModuleReport, PinStatus, TokenDetails } from '#shared/schemas/pkcs11.js';
import { ask } from '../shared/background-client.js';
import { browserHolders } from '../shared/cert-summary.js';
import { errorCode, toUiError } from '../shared/errors.js';
import { errorText, formatDate, t, uiLang, type MessageKey } from '../shared/i18n.js';
import { el } from '../shared/dom.js';

type PinOutcome = { kind: 'ok' | 'error'; text: string };

const list = document.getElementById('certs-list') as HTMLDivElement;
const none = document.getElementById('certs-none') as HTMLParagraphElement;
const statusLine = document.getElementById('certs-status') as HTMLParagraphElement;
const refreshButton = document.getElementById('certs-refresh') as HTMLButtonElement;
const storeList = document.getElementById('browser-certs-list') as HTMLDivElement;
const storeStatus = document.getElementById('browser-certs-status') as HTMLParagraphElement;

let modules: ModuleReport[] = [];
/** The browser's own store(s); undefined until (or unless) the host answered. */
let stores: BrowserStoreReport[] | undefined;
/** PIN check outcomes by module|token|cert, so a re-listing (after a wrong PIN) keeps them. */
const pinOutcomes = new Map<string, PinOutcome>();

function pinFlags(pin: PinStatus | undefined): HTMLElement {
  if (!pin) return el('span', { text: '—' });
  if (pin.locked) return el('span', { class: 'pin-locked', text: t('pinStatusLocked') });
  if (pin.finalTry) return el('span', { class: 'pin-final', text: t('pinStatusFinalTry') });
  return el('span', { text: t(pin.countLow ? 'pinStatusCountLow' : 'pinStatusOk') });
}

function qualifiedText(c: CertificateDetails): string {
  if (!c.qualified.compliance) return t('qualifiedNo');
  const marks = [...c.qualified.types, ...(c.qualified.qscd ? ['QSCD'] : [])];
  return marks.length ? `${t('qualifiedYes')} (${marks.join(', ')})` : t('qualifiedYes');
}

function pinForm(m: ModuleReport, token: TokenDetails, c: CertificateDetails, key: string): HTMLElement {
  const form = el('form', { class: 'pin-check', testid: `pin-check-${c.id}` });
  form.autocomplete = 'off';
  const input = el('input', { testid: `pin-input-${c.id}` });
  input.type = 'password';
  input.name = 'pin';
  input.maxLength = 64;
  input.autocomplete = 'off';
  input.placeholder = t('pinPlaceholder');
  input.setAttribute('aria-label', t('pinCheckLabel'));
  const submit = el('button', { testid: `pin-check-button-${c.id}`, text: t('btnPinCheck') });
  submit.type = 'submit';
  const result = el('span', { class: 'pin-result', testid: `pin-result-${c.id}` });
  result.setAttribute('role', 'status');
  const shown = pinOutcomes.get(key);
  if (shown) {
    result.textContent = shown.text;
    result.classList.add(shown.kind);
  }
  form.append(el('span', { text: t('pinCheckLabel') }), input, submit, result);
  if (token.pin?.finalTry && !token.pin.locked) form.append(el('span', { class: 'pin-final', testid: `pin-final-${c.id}`, text: t('pinFinalTryWarn') }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pin = input.value;
    // The PIN leaves the page with this request only.
    input.value = '';
    if (!pin) return;
    submit.disabled = true;
    result.className = 'pin-result';
    result.textContent = t('pinChecking');
    void ask({ kind: 'pin.check', check: { module: m.path, tokenSerial: token.serial ?? '', certId: c.id, pin } }).then(
      (r: ResultOf<'pin.check'>) => {
        const ok = r.ok && r.signatureVerified !== false;
        pinOutcomes.set(key, { kind: ok ? 'ok' : 'error', text: t(ok ? 'pinCheckOk' : r.ok ? 'pinCheckUnverified' : 'pinCheckWrong') });
        render();
      },
      (e: unknown) => {
        const error = toUiError(e);
        const code = errorCode(error);
        // The host's own text for a wrong or locked PIN warns about the lockout in both languages.
        pinOutcomes.set(key, { kind: 'error', text: errorText(error) });
        // The token's retry flags changed: re-list so "last try" / "locked" show where the user looks.
        if (code === 'PKCS11_PIN_INCORRECT' || code === 'PKCS11_PIN_LOCKED') void refresh();
        else render();
      },
    );
  });
  return form;
}

/** A certificate's facts and warnings; `pin` adds the PIN check (token certificates only). */
function certificateBlock(c: CertificateDetails, pin?: { m: ModuleReport; token: TokenDetails }, prefix = 'cert'): HTMLElement {
  const lang = uiLang();
  const warnings = certificateWarnings(c);
  const warningsCell = el('dd', { testid: `${prefix}-warnings-${c.id}` });
  if (warnings.length) {
    warningsCell.append(
      el(
        'ul',
        { class: 'warnings' },
        ...warnings.map((w) => {
          const li = el('li', { text: CERTIFICATE_WARNING_TEXT[w][lang] });
          li.dataset.warning = w;
          return li;
        }),
      ),
    );
  } else warningsCell.append(el('span', { class: 'ok-text', text: t('certNoWarnings') }));
  const row = (label: MessageKey, value: string, testid: string): Node[] => [
    el('dt', { text: t(label) }),
    el('dd', { testid: `${testid}-${c.id}`, text: value }),
  ];
  const block = el(
    'div',
    { class: 'cert', testid: `${prefix}-${c.id}` },
    el(
      'dl',
      {},
      ...row('certificateHolder', c.commonName || c.subject, `${prefix}-holder`),
      ...row('certHolderKind', CERTIFICATE_HOLDER_TEXT[certificateHolder(c.subject)][lang], `${prefix}-holder-kind`),
      ...row('certSerial', c.serialHex, `${prefix}-serial`),
      ...row('certIssuer', c.issuer, `${prefix}-issuer`),
      ...row('certValidUntil', formatDate(c.notAfter), `${prefix}-valid-until`),
      ...row('certQualified', qualifiedText(c), `${prefix}-qualified`),
      el('dt', { text: t('certWarnings') }),
      warningsCell,
    ),
  );
  block.dataset.usable = String(!warnings.some((w) => w === 'expired' || w === 'not-yet-valid'));
  // A PIN check needs a key that can sign; a CA certificate alone or a locked token has nothing to check.
  if (pin && c.privateKey !== 'absent' && c.signature && !pin.token.pin?.locked) {
    block.append(pinForm(pin.m, pin.token, c, `${pin.m.path}|${pin.token.serial ?? pin.token.slotId}|${c.id}`));
  }
  return block;
}

function tokenBlock(m: ModuleReport, token: TokenDetails): HTMLElement {
  const facts = el(
    'p',
    { class: 'token-facts' },
    el('span', { text: `${t('tokenManufacturer')}: ${token.manufacturer ?? '—'} · ${t('tokenSerial')}: ${token.serial ?? '—'} · ${t('tokenPin')}: ` }),
    pinFlags(token.pin),
  );
  const block = el(
    'div',
    { class: 'token', testid: `token-${token.serial ?? token.slotId}` },
    el('h3', { text: t('tokenHeading', token.label ?? token.slotDescription) }),
    facts,
  );
  if (token.error) block.append(el('p', { class: 'token-error', text: t('certsTokenError', token.error.message[uiLang()]) }));
  block.append(...token.certificates.map((c) => certificateBlock(c, { m, token })));
  if (!token.certificates.length && !token.error) block.append(el('p', { class: 'muted', text: t('certsNoCertificate') }));
  return block;
}

function render(): void {
  const blocks: HTMLElement[] = [];
  for (const m of modules) {
    if (m.error) {
      blocks.push(
        el('p', { class: 'banner error module-error', testid: 'certs-module-error', text: t('certsModuleError', m.name ?? m.path, m.error.message[uiLang()]) }),
      );
    }
    // Only tokens a user could have plugged in: SoftHSM's spare slot and empty readers are noise here.
    for (const token of m.tokens.filter((x) => x.present && x.initialized !== false)) blocks.push(tokenBlock(m, token));
  }
  list.replaceChildren(...blocks);
  const tokens = modules.flatMap((m) => m.tokens.filter((x) => x.present && x.initialized !== false));
  const certCount = tokens.reduce((n, x) => n + x.certificates.length, 0);
  none.hidden = certCount > 0;
  // No token through a driver, but the browser's store has a usable certificate: not an alarm.
  const inStore = !tokens.length && stores ? browserHolders({ stores }) : [];
  none.className = inStore.length ? 'muted' : 'banner';
  none.textContent = tokens.length ? t('certsNoCertificate') : inStore.length ? t('certsNoTokenButBrowser', inStore.join(', ')) : t('certsNoToken');
  renderStores();
}

const STORE_NAME: Record<BrowserStoreReport['store'], MessageKey> = { 'windows-my': 'storeWindowsMy', 'macos-keychain': 'storeMacKeychain', nss: 'storeNss' };

function renderStores(): void {
  if (stores === undefined) return;
  const blocks: HTMLElement[] = [];
  for (const s of stores) {
    blocks.push(el('h3', { text: `${t(STORE_NAME[s.store])} — ${s.location}` }));
    if (s.error)
      blocks.push(
        el('p', { class: 'banner error', testid: 'browser-store-error', text: t('browserStoreError', t(STORE_NAME[s.store]), s.error.message[uiLang()]) }),
      );
    else if (!s.certificates.length) blocks.push(el('p', { class: 'muted', text: t('browserCertsNone') }));
    blocks.push(...s.certificates.map((c) => certificateBlock(c, undefined, 'store-cert')));
  }
  if (!stores.length) blocks.push(el('p', { class: 'muted', text: t('browserCertsNoStore') }));
  storeList.replaceChildren(...blocks);
}

async function refreshStores(): Promise<void> {
  storeStatus.className = 'muted';
  storeStatus.textContent = t('browserCertsLoading');
  try {
    stores = (await ask({ kind: 'certs.browser' })).stores;
    storeStatus.textContent = '';
  } catch (e) {
    stores = undefined;
    storeStatus.className = 'error';
    storeStatus.textContent = errorText(toUiError(e));
  }
}

export async function refresh(): Promise<void> {
  refreshButton.disabled = true;
  statusLine.className = 'muted';
  statusLine.textContent = t('certsLoading');
  // The store is read beside the token: its answer changes what "no token" means.
  const storesRead = refreshStores();
  try {
    modules = (await ask({ kind: 'certs.list' })).modules;
    statusLine.textContent = '';
    await storesRead;
    render();
  } catch (e) {
    // Host missing or failing: the page's banner (from the status call) usually says why too.
    statusLine.className = 'error';
    statusLine.textContent = errorText(toUiError(e));
    await storesRead;
    renderStores();
  } finally {
    refreshButton.disabled = false;
  }
}

export function initCertificates(): void {
  refreshButton.addEventListener('click', () => void refresh());
  void refresh();
}
