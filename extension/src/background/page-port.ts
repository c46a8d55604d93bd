/**
 * The extension's pages (popup, options) each connect one port (PAGE_PORT): their requests are
 * routed over it, and for as long as it is open the native port is held, so the host runs
 * while a page is open and ends after the last one closes.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { PAGE_PORT, pageRequestSchema } from '../shared/ui-protocol.js';
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
