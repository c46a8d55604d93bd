/**
 * What the browser will offer at ANAF's login: the client certificates in the store the browser
 * itself uses (Windows: CurrentUser\My, fed by the token's minidriver; macOS: the keychain's
 * identities; Linux: Chromium's NSS database). A certificate there is as good as one read from
 * the token through its PKCS#11 driver, which on Windows is only a diagnostic.
 */
import * as z from 'zod/mini';
import { errorPayloadSchema } from './error-payload.js';
import { certificateDetailsSchema } from './pkcs11.js';

export const BROWSER_STORES = ['windows-my', 'macos-keychain', 'nss'] as const;
export type BrowserStoreKind = (typeof BROWSER_STORES)[number];

export const browserStoreReportSchema = z.object({
  store: z.enum(BROWSER_STORES),
  /** Where: "CurrentUser\\My", the keychain search list, or the NSS database ("sql:/home/…/.pki/nssdb"). */
  location: z.string().check(z.maxLength(1024)),
  /**
   * privateKey: 'present' when the store links a key to the certificate (Windows
   * CERT_KEY_PROV_INFO_PROP_ID, a keychain identity, an NSS key with the same CKA_ID).
   */
  certificates: z.array(certificateDetailsSchema).check(z.maxLength(256)),
  /** The store could not be read: why (the other stores are still listed). */
  error: z.optional(errorPayloadSchema),
});
export type BrowserStoreReport = z.infer<typeof browserStoreReportSchema>;

export const browserCertsResultSchema = z.object({ stores: z.array(browserStoreReportSchema).check(z.maxLength(8)) });
export type BrowserCertsResult = z.infer<typeof browserCertsResultSchema>;
