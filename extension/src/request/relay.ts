/**
 * The service worker's part in answering a request link: ANAF's redirect, caught by the request
 * page's rule, is answered here with 204 (nothing commits: the code reaches no History entry and
 * no page) and its query is passed to the extension's pages; only the request page that made the
 * nonce takes it. The page then asks which server redirect led there (redirect-witness.ts).
 * Nothing is stored: the worker may stop at any time and the page holds the request.
 */
import { redirectedTo } from '../background/flows/redirect-witness.js';
import { isRequestCallback, splitRequestSearch, witnessAskSchema, type RelayMessage } from './protocol.js';

export { isRequestCallback };

export async function relayRequestCallback(nav: { url: string; mode: string; destination: string }): Promise<void> {
  const split = splitRequestSearch(new URL(nav.url).search);
  if (!split) return;
  const message: RelayMessage = { type: 'anaf-request-callback', nonce: split.nonce, query: split.query, topFrame: nav.mode === 'navigate' && nav.destination === 'document' };
  try {
    await chrome.runtime.sendMessage(message);
  } catch {
    // No request page open any more: the code dies unused.
    console.warn('anaf-token: a request callback found no page');
  }
}

/** Answers the request page's "which redirect led to this URL?" (once: one redirect proves one callback). */
export function listenForWitnessAsks(): void {
  chrome.runtime.onMessage.addListener((msg: unknown, sender, reply: (answer: unknown) => void) => {
    const ask = witnessAskSchema.safeParse(msg);
    if (!ask.success || sender.id !== chrome.runtime.id || !sender.url?.startsWith(chrome.runtime.getURL('request.html'))) return false;
    void redirectedTo(ask.data.url).then((hop) => reply(hop ?? null));
    return true;
  });
}
