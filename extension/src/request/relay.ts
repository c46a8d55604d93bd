/**
 * The service worker's part in answering a request link: ANAF's redirect, caught by the request
 * page's rule, is answered here with 204 (nothing commits: the code reaches no History entry and
 * no page) and its query is passed to the extension's pages; only the request page that made the
 * nonce takes it. The page then asks which server redirect led there (redirect-witness.ts).
 * Nothing is stored: the worker may stop at any time and the page holds the request.
 */
import { redirectedTo } from '../background/flows/redirect-witness.js';
import { HELD_PARAM, holdAskSchema, isRequestCallback, splitRequestSearch, takeAskSchema, witnessAskSchema, type RelayMessage } from './protocol.js';

export { isRequestCallback };

export async function relayRequestCallback(nav: { url: string; mode: string; destination: string }): Promise<void> {
  const split = splitRequestSearch(new URL(nav.url).search);
  if (!split) return;
  const message: RelayMessage = {
    type: 'anaf-request-callback',
    nonce: split.nonce,
    query: split.query,
    topFrame: nav.mode === 'navigate' && nav.destination === 'document',
  };
  try {
    await chrome.runtime.sendMessage(message);
  } catch {
    // No request page open any more: the code dies unused.
    console.warn('anaf-token: a request callback found no page');
  }
}

/**
 * A link pasted into the popup, held in the worker's memory until its page takes it (once, within
 * a minute): the page's address then carries only a one-time ticket, so the link (whose fragment
 * opens the client secret) never reaches the browser's History.
 */
const HOLD_MS = 60_000;
const held = new Map<string, { fragment: string; at: number }>();

function ticket(): string {
  let bin = '';
  for (const b of crypto.getRandomValues(new Uint8Array(32))) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const fromPage = (sender: chrome.runtime.MessageSender, page: string) =>
  sender.id === chrome.runtime.id && sender.url?.startsWith(chrome.runtime.getURL(page)) === true;

/** The request page's and the popup's asks: which redirect led to a URL; hold a pasted link; take it. */
export function listenForRequestAsks(): void {
  chrome.runtime.onMessage.addListener((msg: unknown, sender, reply: (answer: unknown) => void) => {
    const witness = witnessAskSchema.safeParse(msg);
    if (witness.success && fromPage(sender, 'request.html')) {
      // Once: one redirect proves one callback.
      void redirectedTo(witness.data.url).then((hop) => reply(hop ?? null));
      return true;
    }
    const hold = holdAskSchema.safeParse(msg);
    if (hold.success && fromPage(sender, 'popup.html')) {
      const now = Date.now();
      for (const [k, v] of held) if (now - v.at > HOLD_MS) held.delete(k);
      const t = ticket();
      held.set(t, { fragment: hold.data.fragment, at: now });
      void chrome.tabs.create({ url: `${chrome.runtime.getURL('request.html')}?${HELD_PARAM}=${t}` }).then(() => reply(true));
      return true;
    }
    const take = takeAskSchema.safeParse(msg);
    if (take.success && fromPage(sender, 'request.html')) {
      const h = held.get(take.data.ticket);
      held.delete(take.data.ticket);
      reply(h && Date.now() - h.at <= HOLD_MS ? h.fragment : null);
      return false;
    }
    return false;
  });
}
