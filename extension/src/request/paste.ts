/**
 * The popup's "paste a request link" field: a link that a mail program would not let the holder
 * click opens the same request page. Only the link's fragment is used; nothing is stored.
 */
import { AppError } from '#shared/errors.js';
import { fragmentOf, splitLink } from '#shared/request/format.js';
import { errorMessage, w } from './text.js';

export function wireRequestPaste(): void {
  const form = document.getElementById('request-form') as HTMLFormElement | null;
  const input = document.getElementById('request-paste') as HTMLInputElement | null;
  const open = document.getElementById('request-open');
  const error = document.getElementById('request-paste-error');
  if (!form || !input || !open || !error) return;
  input.placeholder = w('pastePlaceholder');
  open.textContent = w('pasteOpen');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.hidden = true;
    try {
      const fragment = fragmentOf(splitLink(input.value));
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
