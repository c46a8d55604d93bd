/**
 * The two halves of an authorization. Start: a fresh random `state`, remembered in the store
 * (so any host process can finish it) with an expiry. Complete: the callback URL the browser was
 * sent to must be the profile's, carry a state we issued (or, only where the caller allows it —
 * the CLI's paste path — and ANAF left it out, match the one recent pending authorization), and
 * its code is exchanged at once.
 */
import crypto from 'node:crypto';
import { AppError } from '#shared/errors.js';
import type { AuthorizeStart } from '#shared/protocol/results.js';
import type { Profile } from '#shared/schemas/profile.js';
import type { CertificateRecord, TokenRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { registerSecret, type Logger } from '../log/logger.js';
import { authorizationUrl, clientAuthOf, exchangeCode, type ClientOptions } from '../oauth/anaf-client.js';
import { certificateFromClaims } from '../oauth/token-claims.js';
import { safeText } from '../oauth/anaf-answers.js';

export const PENDING_TTL_MS = 10 * 60_000;
/** How recent the single pending authorization must be to accept an answer without `state`. */
export const STATELESS_MATCH_WINDOW_MS = 5 * 60_000;

export async function startAuthorization(store: Store, profileName: string): Promise<AuthorizeStart> {
  const profile = await store.getProfile(profileName);
  // Not even the browser goes to a server written into the store behind anaf-token's back.
  await store.checkProfile(profile);
  const state = crypto.randomBytes(32).toString('base64url');
  const expiresAt = await store.addPendingAuthorization(state, profile.name, PENDING_TTL_MS);
  return {
    authorizeUrl: authorizationUrl(profile, state),
    redirectUri: profile.redirectUri,
    state,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** Same scheme, host, port and path as the registered callback; its own query parameters kept. */
export function isProfileCallback(profile: Profile, url: URL): boolean {
  const reg = new URL(profile.redirectUri);
  if (url.origin !== reg.origin || url.pathname !== reg.pathname) return false;
  for (const [k, v] of reg.searchParams) if (url.searchParams.get(k) !== v) return false;
  return true;
}

function parseCallback(profile: Profile, callbackUrl: string): URL {
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    throw new AppError('CALLBACK_INVALID', 'not a URL');
  }
  if (!isProfileCallback(profile, url)) throw new AppError('CALLBACK_INVALID', `expected ${profile.redirectUri}`);
  return url;
}

export async function completeAuthorization(
  store: Store,
  profileName: string,
  callbackUrl: string,
  log: Logger,
  opts: ClientOptions & {
    now?: () => number;
    /** Finds the certificate on the USB token: the one with ANAF's serial, else the only usable one. */
    identify?: (serialHex: string | undefined) => Promise<CertificateRecord | undefined>;
    /**
     * An answer without `state` may finish the single recent pending authorization. Only for a
     * human pasting the address they landed on (`authorize --callback-url`): a callback that
     * arrives by itself (the extension, the loopback listener) must carry its state, or a page
     * that sends the browser there could finish the authorization with its own code.
     */
    allowMissingState?: boolean;
  } = {},
): Promise<TokenRecord> {
  const now = opts.now ?? Date.now;
  const profile = await store.getProfile(profileName);
  const url = parseCallback(profile, callbackUrl);
  const params = url.searchParams;
  const state = params.get('state');
  let stateEchoed = true;
  if (state !== null) {
    if (!(await store.takePendingAuthorization(state, profile.name))) throw new AppError('STATE_MISMATCH');
  } else if (!opts.allowMissingState) {
    throw new AppError('STATE_MISMATCH', 'the answer carries no state');
  } else {
    if (!(await store.takeOnlyRecentPending(profile.name, now() - STATELESS_MATCH_WINDOW_MS))) {
      throw new AppError('STATE_MISMATCH', 'ANAF sent no state and no single recent authorization matches');
    }
    stateEchoed = false;
    log.log('warn', 'authorize.state-not-echoed', { profile: profile.name });
  }
  const error = params.get('error');
  if (error !== null) {
    const description = safeText(params.get('error_description'), 300);
    const detail = description ? `${safeText(error, 64)}: ${description}` : safeText(error, 64);
    log.log('warn', 'authorize.denied', { profile: profile.name, error: safeText(error, 64) });
    throw new AppError(error === 'access_denied' ? 'ACCESS_DENIED' : 'AUTHORIZATION_FAILED', detail);
  }
  const code = params.get('code');
  if (!code) throw new AppError('CALLBACK_INVALID', 'no code in the callback');
  registerSecret(code); // whatever fails from here on must not show it

  // The secret opens only for the server, client ID and callback URL it was saved with.
  const secret = await store.clientSecret(profile);
  const tokens = await exchangeCode(profile, secret, params, { ...opts, clientAuth: await clientAuthOf(store, profile.name) });
  const record = await store.saveTokens(profile, tokens, {
    kind: 'authorization',
    certificate: certificateFromClaims(tokens.accessToken),
    stateEchoed,
  });
  log.log('info', 'authorize.completed', { profile: profile.name, generation: record.generation, stateEchoed });
  // The tokens are safe in the store first; which certificate logged in is learnt afterwards.
  if (record.certificate.subject === undefined && record.certificate.sha256 === undefined && opts.identify) {
    const found = await opts.identify(record.certificate.serialHex);
    if (found) {
      await store.setCertificate(profile.name, found);
      log.log('info', 'authorize.certificate-identified', { profile: profile.name, source: found.source });
      return (await store.findToken(profile.name))!;
    }
  }
  return record;
}
