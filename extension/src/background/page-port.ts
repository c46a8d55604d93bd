/**
 * The extension's pages (popup, options) each connect one port (PAGE_PORT): their requests are
 * routed over it, and for as long as it is open the native port is held, so the host runs
 * while a page is open and ends after the last one closes. The host is started earlier still,
 * when the worker sees the page itself being fetched (isPageOpening): starting it takes longer
 * than Chrome takes to load the page, so the two overlap.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { PAGE_PORT, pageRequestSchema } from '../shared/ui-protocol.js';
import { schemeAndHost } from './flows/callback-check.js';
import { host } from './native/host-port.js';
import { route } from './router.js';

let pages = 0;

export function onPageConnect(port: Runtime.Port): void {
  const sender = port.sender;
  // Only this extension's pages can connect (no externally_connectable); check anyway.
  if (port.name !== PAGE_PORT || !sender || sender.id !== browser.runtime.id) return;
  const release = host.hold(`page:${++pages}`);
  let open = true;
  port.onDisconnect.addListener(() => {
    open = false;
    release();
  });
  port.onMessage.addListener((m: unknown) => {
    const msg = pageRequestSchema.safeParse(m);
    if (!msg.success) return;
    void route(msg.data.request, sender).then((reply) => {
      if (!open) return;
      try {
        port.postMessage({ id: msg.data.id, reply });
      } catch {
        // The page closed between the check and the answer.
      }
    });
  });
}

/** The pages that hold the native port while open. */
const PAGES_WITH_PORT = new Set(['/popup.html', '/options.html']);

/** A navigation that loads one of this extension's pages that will connect a page port. */
export function isPageOpening(url: URL, req: { mode: string; destination: string }): boolean {
  if (req.mode !== 'navigate' || req.destination !== 'document') return false;
  // Not url.origin: it is "null" for a chrome-extension: address outside Chrome.
  return schemeAndHost(url) === location.origin && PAGES_WITH_PORT.has(url.pathname);
}
