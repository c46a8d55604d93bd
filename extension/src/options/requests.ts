/**
 * "Ask the certificate holder": a one-time request link for a profile (docs/request-links.md),
 * made by the host, shown here to copy, save as a file or scan as a QR code, and the list of the
 * requests made on this computer with Cancel for the open ones. The link opens the client secret
 * (with the passphrase, if one was set): it lives in this page only, never in extension storage.
 * The passphrase is typed twice (it is never shown), and leaves the page with the request only.
 */
import QRCode from 'qrcode';
import { PASSPHRASE_MAX_LENGTH, PASSPHRASE_MIN_LENGTH } from '#shared/request/format.js';
import type { RequestSummary } from '#shared/protocol/results.js';
import { ask } from '../shared/background-client.js';
import { toUiError } from '../shared/errors.js';
import { errorText, t, type MessageKey } from '../shared/i18n.js';
import { requestFormSchema } from '../shared/ui-protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let saveUrl: string | undefined;

function showStatus(text: string, kind: 'ok' | 'error' | ''): void {
  const line = $('ask-status');
  line.textContent = text;
  line.className = kind;
}

const when = (iso: string) => new Date(iso).toLocaleString();

/** The profiles a request can be made for (the options page's list, once loaded). */
export function setRequestProfiles(names: string[]): void {
  const select = $<HTMLFormElement>('ask-form').elements.namedItem('profile') as HTMLSelectElement;
  const chosen = select.value;
  select.replaceChildren(
    ...names.map((n) => {
      const o = document.createElement('option');
      o.value = n;
      o.textContent = n;
      return o;
    }),
  );
  if (names.includes(chosen)) select.value = chosen;
}

async function showMade(made: { id: string; link: string; expiresAt: string }): Promise<void> {
  $('request-link-label').textContent = t('requestLinkLabel', when(made.expiresAt));
  $<HTMLTextAreaElement>('request-link').value = made.link;
  const copy = $('request-copy');
  copy.textContent = t('btnCopy');
  // A blob URL and the download attribute: no "downloads" permission needed.
  if (saveUrl) URL.revokeObjectURL(saveUrl);
  saveUrl = URL.createObjectURL(new Blob([made.link + '\n'], { type: 'text/plain' }));
  const save = $<HTMLAnchorElement>('request-save');
  save.href = saveUrl;
  save.download = `anaf-token-request-${made.id}.txt`;
  // A link of ~750 characters fits a QR code easily (level M, as the CLI's PNG).
  const qr = $<HTMLImageElement>('request-qr');
  // Whole pixels per module and the standard quiet zone: a scaled, blurred code is hard for a camera.
  qr.src = await QRCode.toDataURL(made.link, { errorCorrectionLevel: 'M', margin: 4, scale: 4 });
  qr.alt = t('requestQrAlt');
  $('request-made').hidden = false;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function renderRequests(list: RequestSummary[]): void {
  $('requests-table').hidden = list.length === 0;
  $('no-requests').hidden = list.length > 0;
  $('requests').replaceChildren(
    ...list.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.requestId = r.id;
      tr.dataset.testid = `request-row-${r.id}`;
      const status = cell(t(`requestStatus_${r.status}` as MessageKey));
      status.dataset.status = r.status;
      const actions = cell('');
      actions.className = 'row-actions';
      if (r.status === 'pending') {
        const cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'danger';
        cancel.textContent = t('btnRequestCancel');
        cancel.dataset.testid = 'request-cancel';
        cancel.addEventListener('click', () => {
          cancel.disabled = true;
          ask({ kind: 'request.cancel', requestId: r.id }).then(
            async () => {
              showStatus(t('requestCancelledMsg'), 'ok');
              await loadRequests();
            },
            (e: unknown) => {
              cancel.disabled = false;
              showStatus(errorText(toUiError(e)), 'error');
            },
          );
        });
        actions.append(cancel);
      }
      tr.append(cell(r.profile), status, cell(when(r.expiresAt)), cell(r.note ?? ''), cell(r.certificateSerial ?? ''), actions);
      return tr;
    }),
  );
}

export async function loadRequests(): Promise<void> {
  try {
    renderRequests((await ask({ kind: 'request.list' })).requests);
  } catch {
    // The host is missing or failed: the page's banner says so already.
  }
}

function readForm(form: HTMLFormElement): { ok: true; value: ReturnType<typeof requestFormSchema.parse> } | { ok: false; message: string } {
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value;
  const passphrase = value('passphrase');
  if (passphrase !== '' || value('passphraseAgain') !== '') {
    if (passphrase !== value('passphraseAgain')) return { ok: false, message: t('requestPassphraseMismatch') };
    if (passphrase.length < PASSPHRASE_MIN_LENGTH || passphrase.length > PASSPHRASE_MAX_LENGTH) return { ok: false, message: t('requestPassphraseLength') };
  }
  if (!value('profile')) return { ok: false, message: t('requestNoProfile') };
  const note = value('note').trim();
  const parsed = requestFormSchema.safeParse({
    profile: value('profile'),
    validMs: Number(value('valid')) * 60_000,
    ...(note ? { note } : {}),
    ...(passphrase ? { passphrase } : {}),
  });
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]?.path[0] ?? 'profile');
    const label: Record<string, MessageKey> = {
      profile: 'fieldRequestProfile',
      validMs: 'fieldRequestValid',
      note: 'fieldRequestNote',
      passphrase: 'fieldRequestPassphrase',
    };
    return { ok: false, message: t('formInvalid', t(label[key] ?? 'fieldRequestProfile')) };
  }
  return { ok: true, value: parsed.data };
}

export function initRequests(): void {
  const form = $<HTMLFormElement>('ask-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const read = readForm(form);
    if (!read.ok) {
      showStatus(read.message, 'error');
      return;
    }
    for (const name of ['passphrase', 'passphraseAgain']) (form.elements.namedItem(name) as HTMLInputElement).value = '';
    const submit = $<HTMLButtonElement>('ask-form').querySelector<HTMLButtonElement>('button[type=submit]')!;
    submit.disabled = true;
    showStatus(t('requestCreating'), '');
    ask({ kind: 'request.create', request: read.value })
      .then(async (made) => {
        showStatus('', '');
        await showMade(made);
        await loadRequests();
      })
      .catch((e: unknown) => showStatus(errorText(toUiError(e)), 'error'))
      .finally(() => (submit.disabled = false));
  });
  $('request-copy').addEventListener('click', () => {
    const link = $<HTMLTextAreaElement>('request-link').value;
    void navigator.clipboard.writeText(link).then(
      () => ($('request-copy').textContent = t('copied')),
      () => $<HTMLTextAreaElement>('request-link').select(),
    );
  });
  void loadRequests();
}
