/** How pages ask the background for something: one typed call, failures as UiFailure. */
import browser from 'webextension-polyfill';
import { UiFailure } from './errors.js';
import { uiReplyEnvelopeSchema, type UiKind, type UiRequest, type UiResults } from './ui-protocol.js';

export async function ask<K extends UiKind>(req: Extract<UiRequest, { kind: K }>): Promise<UiResults[K]> {
  let raw: unknown;
  try {
    raw = await browser.runtime.sendMessage(req);
  } catch (e) {
    throw new UiFailure({ source: 'extension', code: 'EXTENSION_FAILED', params: [], detail: e instanceof Error ? e.name : 'background' });
  }
  const reply = uiReplyEnvelopeSchema.safeParse(raw);
  if (!reply.success) throw new UiFailure({ source: 'extension', code: 'EXTENSION_FAILED', params: [], detail: 'no answer from the background' });
  if (!reply.data.ok) throw new UiFailure(reply.data.error);
  // The background built this answer from schema-checked host results.
  return reply.data.result as UiResults[K];
}
