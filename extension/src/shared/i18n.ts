/**
 * UI strings come from _locales through chrome.i18n; the host's errors carry both languages and
 * are shown in the language chrome.i18n picked (the `lang` message says which catalogue is active).
 */
import browser from 'webextension-polyfill';
import type { UiError } from './errors.js';

type Catalogue = typeof import('../../_locales/en/messages.json');
export type MessageKey = keyof Catalogue;
export type Lang = 'ro' | 'en';

export function uiLang(): Lang {
  return browser.i18n.getMessage('lang') === 'en' ? 'en' : 'ro';
}

export function t(key: MessageKey, ...subs: string[]): string {
  return browser.i18n.getMessage(key, subs) || key;
}

/** Fills elements marked data-i18n / data-i18n-placeholder / data-i18n-title. */
export function localizePage(root: ParentNode = document): void {
  document.documentElement.lang = uiLang();
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n as MessageKey);
  for (const el of root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder as MessageKey);
  }
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle as MessageKey);
}

export function errorText(e: UiError): string {
  if (e.source === 'host') {
    const text = e.payload.message[uiLang()];
    return e.payload.detail ? `${text} (${e.payload.detail})` : text;
  }
  const text = t(`error_${e.code}`, ...e.params);
  return e.detail ? `${text} (${e.detail})` : text;
}

/**
 * The error's text into `target`, with any command it tells the user to run set as code so it
 * stands out and copies cleanly.
 */
export function showError(target: HTMLElement, e: UiError): void {
  const text = errorText(e);
  const commands = e.source === 'extension' ? e.params.filter((p) => p.startsWith('anaf-token ')) : [];
  const command = commands[0];
  if (command === undefined || !text.includes(command)) {
    target.textContent = text;
    return;
  }
  const at = text.indexOf(command);
  const code = document.createElement('code');
  code.textContent = command;
  code.dataset.testid = 'command';
  target.replaceChildren(text.slice(0, at), code, text.slice(at + command.length));
}

export function formatDate(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(uiLang() === 'ro' ? 'ro-RO' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
