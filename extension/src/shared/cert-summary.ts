/**
 * The popup's one line about certificates, and the options page's "no token" note, from the two
 * places a certificate for ANAF's login can come from: the USB token (its PKCS#11 drivers) and
 * the store the browser itself uses (Windows CurrentUser\My, the macOS keychain, Chromium's NSS
 * database). On Windows the browser takes the token's certificate from the store, through the
 * token's minidriver, even when no PKCS#11 driver is installed. "No usable certificate" is said
 * only when both places were read and neither holds one: never while a usable certificate sits
 * in the browser's store, and never on a guess.
 */
import { usableForAnaf } from '#shared/certificate-warnings.js';
import type { ResultOf } from '#shared/protocol/messages.js';
import type { CertificateDetails } from '#shared/schemas/pkcs11.js';

export type TokenListing = ResultOf<'certs.list'>;
export type BrowserListing = ResultOf<'certs.browser'>;

export type CertSummary =
  /** Usable certificates on the plugged-in token(s), by holder. */
  | { kind: 'token'; holders: string[] }
  /** None on a token read through PKCS#11, but the browser's own store has usable ones. */
  | { kind: 'browser'; holders: string[] }
  /** Both places were read; neither has a usable certificate. */
  | { kind: 'none' };

function holders(certs: CertificateDetails[], now: number): string[] {
  return [...new Set(certs.filter((c) => usableForAnaf(c, now)).map((c) => c.commonName || c.subject))];
}

export function tokenHolders(listing: TokenListing, now = Date.now()): string[] {
  return holders(
    listing.modules.flatMap((m) => m.tokens.filter((t) => t.present).flatMap((t) => t.certificates)),
    now,
  );
}

export function browserHolders(listing: BrowserListing, now = Date.now()): string[] {
  return holders(
    listing.stores.flatMap((s) => s.certificates),
    now,
  );
}

/** Undefined: nothing worth saying yet (no answer, or not enough to be sure there is no certificate). */
export function certSummary(token: TokenListing | undefined, browser: BrowserListing | undefined, now = Date.now()): CertSummary | undefined {
  const onToken = token ? tokenHolders(token, now) : [];
  if (onToken.length) return { kind: 'token', holders: onToken };
  const inStore = browser ? browserHolders(browser, now) : [];
  if (inStore.length) return { kind: 'browser', holders: inStore };
  // A store that could not be read may hold the certificate: say nothing rather than alarm.
  if (token && browser && browser.stores.every((s) => s.error === undefined)) return { kind: 'none' };
  return undefined;
}
