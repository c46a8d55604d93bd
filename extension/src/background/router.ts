/** Requests from the extension's own pages: parsed, dispatched to one action each, answered as UiReply. */
import type { Runtime } from 'webextension-polyfill';
import browser from 'webextension-polyfill';
import { ExtError, toUiError } from '../shared/errors.js';
import { uiRequestSchema, type UiKind, type UiReply, type UiRequest, type UiResults } from '../shared/ui-protocol.js';
import { checkPin, labelCertificate, listBrowserCertificates, listCertificates } from './actions/certificates.js';
import { checkToken } from './actions/check.js';
import { dismissFlow, startObtain } from './actions/obtain-token.js';
import { removeProfile, saveProfile } from './actions/profiles.js';
import { refreshNow } from './actions/refresh.js';
import { cancelRequest, createRequest, importAnswer, listRequests } from './actions/requests.js';
import { revokeTokens } from './actions/revoke.js';
import { fetchStatuses } from './actions/status.js';

type Handler<K extends UiKind> = (req: Extract<UiRequest, { kind: K }>) => Promise<UiResults[K]>;

const handlers: { [K in UiKind]: Handler<K> } = {
  status: async () => ({ profiles: await fetchStatuses() }),
  obtain: async (req) => {
    await startObtain(req.profile);
    return { started: true };
  },
  refresh: (req) => refreshNow(req.profile),
  revoke: (req) => revokeTokens(req.profile),
  'token.check': (req) => checkToken(req.profile),
  'profile.save': (req) => saveProfile(req.profile),
  'profile.remove': (req) => removeProfile(req.profile),
  'flow.dismiss': async (req) => {
    await dismissFlow(req.profile);
    return { dismissed: true };
  },
  'certs.list': () => listCertificates(),
  'certs.browser': () => listBrowserCertificates(),
  'pin.check': (req) => checkPin(req.check),
  'token.label': (req) => labelCertificate(req.profile, req.label),
  'request.create': (req) => createRequest(req.request),
  'request.list': () => listRequests(),
  'request.cancel': (req) => cancelRequest(req.requestId),
  'request.import': (req) => importAnswer(req.text),
};

export async function route(message: unknown, sender: Runtime.MessageSender): Promise<UiReply<UiKind>> {
  try {
    // page-port.ts checked this already; a second look costs nothing.
    if (sender.id !== browser.runtime.id) throw new ExtError('EXTENSION_FAILED', [], 'foreign sender');
    const parsed = uiRequestSchema.safeParse(message);
    if (!parsed.success) throw new ExtError('EXTENSION_FAILED', [], 'malformed request');
    const req = parsed.data;
    const handler = handlers[req.kind] as Handler<UiKind>;
    return { ok: true, result: await handler(req) };
  } catch (e) {
    const error = toUiError(e);
    console.warn('anaf-token:', error.source === 'host' ? error.payload.code : error.code);
    return { ok: false, error };
  }
}
