import { describe, expect, it } from 'vitest';
import type { CertificateDetails, ModuleReport } from '#shared/index.js';
import { certificateWithSerial, nameHolders, onlyUsableCertificate } from '../../native-host/src/pkcs11/identify.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { mergeCertificate } from '../../native-host/src/store/records.js';
import { tempPaths } from '../helpers/temp.js';

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

describe('the holder of a token ANAF names only by serial', () => {
  it('is the certificate with that serial on the USB token, whatever else is there', () => {
    const r = [report(cert({ serialHex: '4A1F', sha256: 'mine' }), cert({ serialHex: 'AB', sha256: 'other', subject: 'CN=ALTCINEVA' }))];
    expect(certificateWithSerial(r, '4A1F')).toEqual({ subject: 'CN=POPESCU ION, C=RO', serialHex: '4A1F', sha256: 'mine', source: 'jwt' });
    expect(certificateWithSerial(r, 'FFFF')).toBeUndefined();
  });

  it('is remembered in the vault, keeping what ANAF said; a refresh keeps the name', async () => {
    const vault = Vault.open({ paths: tempPaths('holders'), env: { ANAF_TOKEN_KEYSTORE: 'file' } });
    vault.saveProfile({ name: 'p', clientId: 'c', clientSecret: 's', redirectUri: 'https://erp.example.ro/cb', env: 'prod', refreshWindowDays: 14 }, 'create');
    const anaf = { serialHex: '4A1F', issuer: 'DigiSign Qualified CA Class 3 2017', roles: 'HELLO@EFACTURA' };
    const set = { accessToken: 'a', refreshToken: 'r', accessExpiresAt: now + 1e9, refreshExpiresAt: now + 2e9 };
    vault.saveTokens('p', set, { kind: 'authorization', certificate: anaf, stateEchoed: true });
    await nameHolders(vault, [report(cert({ serialHex: '4A1F', sha256: 'mine' }))]);
    expect(vault.findToken('p')!.certificate).toEqual({ ...anaf, subject: 'CN=POPESCU ION, C=RO', sha256: 'mine', source: 'jwt', label: undefined });
    vault.saveTokens('p', { ...set, accessToken: 'a2' }, { kind: 'refresh', certificate: anaf });
    expect(vault.findToken('p')!.certificate.subject).toBe('CN=POPESCU ION, C=RO');
    // A new authorization by the same certificate keeps the name; another certificate starts afresh.
    vault.saveTokens('p', { ...set, accessToken: 'a3' }, { kind: 'authorization', certificate: anaf, stateEchoed: true });
    expect(vault.findToken('p')!.certificate.subject).toBe('CN=POPESCU ION, C=RO');
    vault.saveTokens('p', { ...set, accessToken: 'a4' }, { kind: 'authorization', certificate: { ...anaf, serialHex: 'BEEF' }, stateEchoed: true });
    expect(vault.findToken('p')!.certificate.subject).toBeUndefined();
    vault.close();
  });

  it('merging: a refresh takes what the new token says over what was known', () => {
    expect(mergeCertificate({ subject: 'CN=X', serialHex: '01', label: 'l' }, { serialHex: '01', roles: 'R' }, false)).toEqual({
      subject: 'CN=X',
      serialHex: '01',
      label: 'l',
      roles: 'R',
      source: 'jwt',
    });
    expect(mergeCertificate({ subject: 'CN=X', source: 'user', label: 'l' }, {}, false)).toEqual({ subject: 'CN=X', source: 'user', label: 'l' });
  });
});
