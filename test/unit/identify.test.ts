import { describe, expect, it } from 'vitest';
import type { CertificateDetails, ModuleReport } from '../../shared/src/index.js';
import { onlyUsableCertificate } from '../../native-host/src/pkcs11/identify.js';

const now = Date.UTC(2026, 10, 25);
const cert = (over: Partial<CertificateDetails>): CertificateDetails => ({
  id: '01',
  label: 'x',
  subject: 'CN=POPESCU ION, C=RO',
  commonName: 'POPESCU ION',
  serialHex: 'AB',
  issuer: 'CN=CA',
  notBefore: new Date(now - 86_400_000).toISOString(),
  notAfter: new Date(now + 300 * 86_400_000).toISOString(),
  sha256: 'h1',
  keyAlgorithm: 'RSA 2048',
  keyUsage: ['digitalSignature', 'nonRepudiation'],
  extendedKeyUsage: [],
  qualified: { compliance: true, qscd: true, types: ['esign'] },
  privateKey: 'unknown',
  signature: true,
  ...over,
});
const report = (...certs: CertificateDetails[]): ModuleReport => ({
  path: '/m.so',
  tokens: [{ slotId: '0', slotDescription: 's', present: true, certificates: certs }],
});

describe('the certificate that authenticated, when ANAF does not say', () => {
  it('is the only usable one on the token(s)', () => {
    const r = onlyUsableCertificate(
      [report(cert({}), cert({ sha256: 'old', notAfter: new Date(now - 1).toISOString() }), cert({ sha256: 'ca', signature: false }))],
      now,
    );
    expect(r).toEqual({ subject: 'CN=POPESCU ION, C=RO', serialHex: 'AB', sha256: 'h1', source: 'only-certificate' });
  });

  it('counts one certificate seen through two drivers once', () => {
    expect(onlyUsableCertificate([report(cert({})), report(cert({}))], now)?.sha256).toBe('h1');
  });

  it('says nothing when two could have been used, or none', () => {
    expect(onlyUsableCertificate([report(cert({}), cert({ sha256: 'h2', commonName: 'IONESCU MARIA' }))], now)).toBeUndefined();
    expect(onlyUsableCertificate([report()], now)).toBeUndefined();
  });
});
