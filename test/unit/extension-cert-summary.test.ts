/**
 * The popup's certificate line and the options page's "no token" note (cert-summary.ts): never
 * "no usable certificate" while the browser's own store (Windows CurrentUser\My, the keychain,
 * the NSS database) has one, and never on a missing answer.
 */
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { certSummary, type BrowserListing, type TokenListing } from '../../extension/src/shared/cert-summary.js';
import { certificateDetails } from '../../native-host/src/pkcs11/cert-details.js';
import type { CertificateDetails } from '#shared/schemas/pkcs11.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { tempDir } from '../helpers/temp.js';

let pki: Pki;
const details = (pem: string, privateKey: CertificateDetails['privateKey']) =>
  certificateDetails(Buffer.from(new crypto.X509Certificate(pem).raw), '01', '', privateKey);

const tokenListing = (certs: CertificateDetails[]): TokenListing => ({
  modules: [{ path: '/usr/lib/libeTPkcs11.so', tokens: certs.length ? [{ slotId: '00', slotDescription: 'eToken', present: true, certificates: certs }] : [] }],
});
const storeListing = (certs: CertificateDetails[], error = false): BrowserListing => ({
  stores: [
    {
      store: 'windows-my',
      location: 'CurrentUser\\My',
      certificates: certs,
      ...(error ? { error: { code: 'CERT_STORE_UNAVAILABLE', message: { en: 'x', ro: 'x' } } } : {}),
    },
  ],
});

describe('certificate summary (popup and options)', () => {
  beforeAll(async () => {
    pki = await makePki(tempDir('pki'));
  });

  it('names the token holder first', () => {
    const ion = details(pki.client.certPem, 'present');
    expect(certSummary(tokenListing([ion]), storeListing([]))).toEqual({ kind: 'token', holders: ['POPESCU ION'] });
    expect(certSummary(tokenListing([ion]), undefined)).toEqual({ kind: 'token', holders: ['POPESCU ION'] });
  });

  it('no token through PKCS#11 but a usable certificate in the browser store: no warning, the store holder named', () => {
    const inStore = details(pki.client.certPem, 'present');
    expect(certSummary(tokenListing([]), storeListing([inStore]))).toEqual({ kind: 'browser', holders: ['POPESCU ION'] });
    // The PKCS#11 answer missing altogether (no driver on Windows, a timeout): the store still counts.
    expect(certSummary(undefined, storeListing([inStore]))).toEqual({ kind: 'browser', holders: ['POPESCU ION'] });
  });

  it('"none" only when both places answered and neither has a usable certificate', () => {
    const expired = details(pki.expiredClient.certPem, 'present');
    const keyless = details(pki.clientEc.certPem, 'absent');
    expect(certSummary(tokenListing([]), storeListing([expired, keyless]))).toEqual({ kind: 'none' });
    expect(certSummary(tokenListing([expired]), { stores: [] })).toEqual({ kind: 'none' });
  });

  it('says nothing on a missing or failed answer', () => {
    expect(certSummary(tokenListing([]), undefined)).toBeUndefined();
    expect(certSummary(undefined, storeListing([]))).toBeUndefined();
    expect(certSummary(tokenListing([]), storeListing([], true))).toBeUndefined();
    expect(certSummary(undefined, undefined)).toBeUndefined();
  });
});
