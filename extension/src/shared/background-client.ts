/**
 * How pages ask the background for something: one typed call, failures as UiFailure. Requests
 * go over the page's port (PAGE_PORT), connected on first use or by connectBackground(); while
 * it is open the background keeps the native host running.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { UiFailure } from './errors.js';
import { PAGE_PORT, pageReplySchema, uiReplyEnvelopeSchema, type UiKind, type UiRequest, type UiResults } from './ui-protocol.js';

interface Channel {
  port: Runtime.Port;
  waiting: Map<number, { resolve(reply: unknown): void; reject(e: UiFailure): void }>;
}

let channel: Channel | undefined;
let lastId = 0;

const failure = (detail: string) => new UiFailure({ source: 'extension', code: 'EXTENSION_FAILED', params: [], detail });

function connect(): Channel {
  const ch: Channel = { port: browser.runtime.connect({ name: PAGE_PORT }), waiting: new Map() };
  ch.port.onMessage.addListener((m: unknown) => {
    const r = pageReplySchema.safeParse(m);
    const w = r.success ? ch.waiting.get(r.data.id) : undefined;
    if (!r.success || !w) return;
    ch.waiting.delete(r.data.id);
    w.resolve(r.data.reply);
  });
  // The background stopped (or was reloaded): what was asked fails; the next ask connects again.
  ch.port.onDisconnect.addListener(() => {
    if (channel === ch) channel = undefined;
    for (const w of ch.waiting.values()) w.reject(failure('the background stopped'));
    ch.waiting.clear();
  });
  channel = ch;
  return ch;
}

/**
 * Connects this page to the background now: called first thing, so the host (started by the
 * worker when this page was fetched) stays up while the page is open.
 */
export function connectBackground(): void {
  if (!channel) connect();
}

export async function ask<K extends UiKind>(req: Extract<UiRequest, { kind: K }>): Promise<UiResults[K]> {
  const ch = channel ?? connect();
  const id = ++lastId;
  const raw = await new Promise<unknown>((resolve, reject) => {
    ch.waiting.set(id, { resolve, reject });
    try {
      ch.port.postMessage({ id, request: req });
    } catch (e) {
      ch.waiting.delete(id);
      reject(failure(e instanceof Error ? e.name : 'background'));
    }
  });
  const reply = uiReplyEnvelopeSchema.safeParse(raw);
  if (!reply.success) throw failure('no answer from the background');
  if (!reply.data.ok) throw new UiFailure(reply.data.error);
  // The background built this answer from schema-checked host results.
  return reply.data.result as UiResults[K];
}
