/**
 * The popup's paste field. A request link (the holder's side: a link that a mail program would
 * not let the holder click) opens the same request page; only the link's fragment is used and
 * nothing is stored. An answer to a request made here (the requester's side: text starting
 * `ara1.`, maybe inside the mail it came in) is imported by the host, through the background's
 * kept native port, and the result is shown under the field.
 */
import { AppError } from '#shared/errors.js';
import { fragmentOf, splitAnswer, splitLink } from '#shared/request/format.js';
import { ask } from '../shared/background-client.js';
import { toUiError } from '../shared/errors.js';
import { errorText, t } from '../shared/i18n.js';
import { errorMessage, w } from './text.js';

/** An answer, whole or cut short, rather than a link: `ara1.` at the start of a word. */
const ANSWER_START = /(?:^|\s)ara1\./;

function isAnswer(text: string): boolean {
  try {
    splitAnswer(text);
    return true;
  } catch {
    return ANSWER_START.test(text);
  }
}

function importAnswer(text: string, input: HTMLTextAreaElement | HTMLInputElement, result: HTMLElement): void {
  result.hidden = false;
  result.className = 'import-result';
  result.dataset.state = 'working';
  delete result.dataset.code;
  result.textContent = t('requestImporting');
  ask({ kind: 'request.import', text }).then(
    (done) => {
      input.value = '';
      result.dataset.state = 'ok';
      result.className = 'import-result ok';
      result.textContent = t('requestImported', done.profile, done.certificate.serialHex ?? t('serialUnknown'));
    },
    (e: unknown) => {
      const err = toUiError(e);
      result.dataset.state = 'error';
      result.dataset.code = err.source === 'host' ? err.payload.code : err.code;
      result.className = 'import-result error';
      result.textContent = errorText(err);
    },
  );
}

export function wireRequestPaste(): void {
  const form = document.getElementById('request-form') as HTMLFormElement | null;
  const input = document.getElementById('request-paste') as HTMLTextAreaElement | null;
  const open = document.getElementById('request-open');
  const error = document.getElementById('request-paste-error');
  const result = document.getElementById('request-import-result');
  if (!form || !input || !open || !error || !result) return;
  input.placeholder = w('pastePlaceholder');
  open.textContent = w('pasteOpen');
  // A one-line field that keeps the line ends of a pasted mail (an answer is found between them); Enter sends it.
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const text = input.value;
    if (isAnswer(text)) {
      importAnswer(text, input, result);
      return;
    }
    result.hidden = true;
    try {
      const fragment = fragmentOf(splitLink(text));
      input.value = '';
      // The worker holds it and opens the page with a ticket: the link stays out of History.
      void chrome.runtime.sendMessage({ type: 'anaf-request-hold', fragment });
    } catch (e) {
      const err = AppError.from(e);
      error.textContent = errorMessage(err.code, err.detail);
      error.hidden = false;
    }
  });
}
