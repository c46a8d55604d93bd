/**
 * One function per native message type; each gets a parsed request and returns its result.
 * A host process serves one browser port (many messages) or one message: what a request type
 * needs is loaded when it first comes.
 */
import { PROTOCOL_VERSION } from '#shared/protocol/constants.js';
import type { Request, RequestType } from '#shared/protocol/requests.js';
import type { ResultOf } from '#shared/protocol/results.js';
import { DEFAULT_REFRESH_WINDOW_DAYS } from '#shared/schemas/profile.js';
import type { App } from '../app.js';
import { allStatuses, statusOf } from '../tokens/statuses.js';
import { HOST_VERSION } from '../version.js';
import { readConfig } from '../config/host-config.js';

const authorization = () => import('../tokens/authorize.js');
const refresh = () => import('../tokens/refresh.js');
const revoke = () => import('../tokens/revoke.js');
const check = () => import('../tokens/check-token.js');
const requester = () => import('../request/requester.js');
const pkcs11 = async () => ({
  ...(await import('../pkcs11/run-isolated.js')),
  ...(await import('../pkcs11/scan.js')),
  ...(await import('../pkcs11/identify.js')),
  ...(await import('../pkcs11/known-modules.js')),
});

type Handler<T extends RequestType> = (app: App, req: Extract<Request, { type: T }>) => Promise<ResultOf<T>>;

export const handlers: { [T in RequestType]: Handler<T> } = {
  hello: async () => ({ protocol: PROTOCOL_VERSION, hostVersion: HOST_VERSION }),
  status: async (app) => ({ profiles: await allStatuses(app.store, app.now()) }),
  'profile.save': async (app, req) => {
    const existing = await app.store.findProfile(req.name);
    // Changing the server, client ID or callback URL needs the secret again and drops the tokens.
    const { tokensDropped } = await app.store.saveProfile(
      {
        name: req.name,
        clientId: req.clientId,
        clientSecret: req.clientSecret,
        redirectUri: req.redirectUri,
        env: req.env,
        refreshWindowDays: req.refreshWindowDays ?? existing?.refreshWindowDays ?? DEFAULT_REFRESH_WINDOW_DAYS,
      },
      'upsert',
    );
    app.log.log('info', 'profile.saved', { profile: req.name, secretChanged: req.clientSecret !== undefined, tokensDropped });
    if (tokensDropped) {
      app.log.log('warn', 'profile.tokens-dropped', {
        profile: req.name,
        reason: 'the server, client ID or callback URL changed (or the tokens no longer opened): a new authorization with the USB key is needed',
      });
    }
    return statusOf(app.store, req.name, app.now());
  },
  'profile.remove': async (app, req) => ({ removed: await app.store.removeProfile(req.profile) }),
  'authorize.start': async (app, req) => (await authorization()).startAuthorization(app.store, req.profile),
  'authorize.complete': async (app, req) => {
    const [{ completeAuthorization }, { certificateOnToken }] = await Promise.all([authorization(), pkcs11()]);
    await completeAuthorization(app.store, req.profile, req.callbackUrl, app.log, {
      ...app.tokenDeps.client,
      identify: (serial) => certificateOnToken(readConfig(app.paths).pkcs11Modules, serial),
    });
    return statusOf(app.store, req.profile, app.now());
  },
  'token.refresh': async (app, req) => {
    await (await refresh()).refreshProfile(app.tokenDeps, req.profile, { force: req.force ?? true });
    return statusOf(app.store, req.profile, app.now());
  },
  'token.revoke': async (app, req) => {
    const outcome = await (await revoke()).revokeProfile(app.tokenDeps, req.profile);
    return { ...outcome, status: await statusOf(app.store, req.profile, app.now()) };
  },
  // The answer is the verdict, whatever it is: the popup shows it; only "nothing to check" is an error.
  'token.check': async (app, req) => (await check()).checkToken(app.tokenDeps, req.profile),
  'token.label': async (app, req) => {
    await app.store.setCertificateLabel(req.profile, req.label);
    return statusOf(app.store, req.profile, app.now());
  },
  // Without the service's policy nothing is skipped: every due token is refreshed or failed.
  'refresh.due': async (app) => ({
    outcomes: (await (await refresh()).refreshDue(app.tokenDeps)).map(({ profile, outcome, error }) => ({
      profile,
      outcome: outcome === 'waiting' || outcome === 'busy' ? 'not-due' : outcome === 'refreshed-elsewhere' ? 'refreshed' : outcome,
      ...(error ? { error: error.toPayload() } : {}),
    })),
  }),
  // A driver path in a message is loaded only when it is a known one or one the user configured.
  'certs.list': async (app, req) => {
    const { scanModules, nameHolders, refuseUnknownModules } = await pkcs11();
    const configured = readConfig(app.paths).pkcs11Modules;
    if (req.modules) refuseUnknownModules(req.modules, configured);
    const modules = await scanModules(req.modules, configured);
    await nameHolders(app.store, modules);
    return { modules };
  },
  'certs.browser': async (app) => {
    const stores = await (await import('../certstores/browser-stores.js')).browserStores();
    app.log.log('info', 'certstores.list', { stores: stores.length, certificates: stores.reduce((n, s) => n + s.certificates.length, 0) });
    return { stores };
  },
  'pin.check': async (app, req) => {
    const { checkPinIsolated, refuseUnknownModules } = await pkcs11();
    refuseUnknownModules([req.module], readConfig(app.paths).pkcs11Modules);
    const r = await checkPinIsolated({ module: req.module, tokenSerial: req.tokenSerial, certId: req.certId, pin: req.pin });
    app.log.log('info', 'pkcs11.pin-check', { ok: r.ok });
    return r;
  },
  // Request links (docs/request-links.md): the requests file is opened per message and closed after it.
  'request.create': async (app, req) =>
    (await requester()).createRequestLink(app, app, { profile: req.profile, validMs: req.validMs, note: req.note, passphrase: req.passphrase }),
  'request.list': async (app) => ({ requests: await (await requester()).listRequests(app) }),
  'request.cancel': async (app, req) => {
    await (await requester()).cancelRequest(app, app.log, req.requestId);
    return { requestId: req.requestId, cancelled: true as const };
  },
  'request.import': async (app, req) => (await requester()).importRequestAnswer(app, app, req.answer),
};

/** Requests that never read the store: they work while a team store is out of reach. */
const STORELESS: ReadonlySet<RequestType> = new Set(['hello', 'certs.browser', 'pin.check']);

export async function handle(app: App, req: Request): Promise<unknown> {
  if (!STORELESS.has(req.type)) await app.ready();
  const h = handlers[req.type] as (app: App, req: Request) => Promise<unknown>;
  return h(app, req);
}
