/**
 * The USB token's certificates, read by the host without a PIN, the certificates in the store the
 * browser itself uses, and the optional PIN check.
 * The PIN passes through this worker's memory straight to the host: never stored, never logged.
 */
import type { ResultOf } from '#shared/protocol/messages.js';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { writeCachedBrowserCerts, writeCachedCerts } from '../../shared/certs-cache.js';
import type { PinCheckForm } from '../../shared/ui-protocol.js';
import { host } from '../native/host-port.js';
import { remember } from './status.js';

export async function listCertificates(): Promise<ResultOf<'certs.list'>> {
  const listing = await host.request({ type: 'certs.list' });
  await writeCachedCerts(listing);
  return listing;
}

/** What the browser will offer at ANAF's login (Windows store, macOS keychain, NSS database). */
export async function listBrowserCertificates(): Promise<ResultOf<'certs.browser'>> {
  const listing = await host.request({ type: 'certs.browser' });
  await writeCachedBrowserCerts(listing);
  return listing;
}

export function checkPin(form: PinCheckForm): Promise<ResultOf<'pin.check'>> {
  return host.request({ type: 'pin.check', module: form.module, tokenSerial: form.tokenSerial, certId: form.certId, pin: form.pin });
}

/** The user's name for the certificate that authenticated, when ANAF's token does not say. */
export async function labelCertificate(profile: string, label: string): Promise<TokenStatus> {
  return remember(await host.request({ type: 'token.label', profile, label }));
}
