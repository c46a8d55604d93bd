/**
 * The parts of the certificate-store and key-store code that need no OS of their own: the
 * macOS `security` output parsing (checked against text in the tools' format: we have no Mac),
 * holder kinds, the client-auth rule, where koffi is looked for, NSS's parameters, which key
 * store a new vault gets.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { certificateHolder, certificateWarnings, clientAuth } from '#shared/certificate-warnings.js';
import { keychainCertificates, parseFindIdentity, parsePemCertificates } from '../../native-host/src/certstores/macos.js';
import { softoknParameters } from '../../native-host/src/certstores/nss.js';
import { koffiCandidates, koffiTriplets, loadKoffi, koffiFile } from '../../native-host/src/platform/koffi.js';
import { addPasswordCommand } from '../../native-host/src/platform/mac-keychain.js';
import { chooseKeyStore, fileKeyStore, keyStoreOfKind } from '../../native-host/src/vault/key-store.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { peImports } from '../helpers/pe-imports.js';
import { tempDir } from '../helpers/temp.js';

const sha1 = (pem: string) => crypto.createHash('sha1').update(new crypto.X509Certificate(pem).raw).digest('hex').toUpperCase();

describe('macOS keychain listing', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki(tempDir('pki'));
  });

  it('reads find-identity output: matching identities, their problems, no duplicates from the valid list', () => {
    const text = [
      'Policy: SSL (client)',
      '  Matching identities',
      '  1) 4F1A8E0C9D2B3A4F5E6D7C8B9A0F1E2D3C4B5A69 "POPESCU ION"',
      '  2) 0A1B2C3D4E5F60718293A4B5C6D7E8F901234567 "EXPIRED \\"OLD\\" POPESCU" (CSSMERR_TP_CERT_EXPIRED)',
      '     2 identities found',
      '',
      '  Valid identities only',
      '  1) 4F1A8E0C9D2B3A4F5E6D7C8B9A0F1E2D3C4B5A69 "POPESCU ION"',
      '     1 valid identities found',
    ].join('\n');
    expect(parseFindIdentity(text)).toEqual([
      { sha1: '4F1A8E0C9D2B3A4F5E6D7C8B9A0F1E2D3C4B5A69', name: 'POPESCU ION' },
      { sha1: '0A1B2C3D4E5F60718293A4B5C6D7E8F901234567', name: 'EXPIRED "OLD" POPESCU', problem: 'CSSMERR_TP_CERT_EXPIRED' },
    ]);
    expect(parseFindIdentity('     0 identities found\n')).toEqual([]);
  });

  it('joins identities to the PEM listing by SHA-1: key present for identities, absent for a lone leaf, CAs left out', () => {
    const identities = [
      'Policy: SSL (client)',
      '  Matching identities',
      `  1) ${sha1(pki.client.certPem)} "POPESCU ION"`,
      `  2) ${sha1(pki.expiredClient.certPem)} "EXPIRED POPESCU" (CSSMERR_TP_CERT_EXPIRED)`,
      '     2 identities found',
    ].join('\n');
    // find-certificate -a -p: PEM blocks one after another.
    const pems = [pki.ca.certPem, pki.client.certPem, pki.expiredClient.certPem, pki.clientEc.certPem, pki.client.certPem].join('');
    expect(parsePemCertificates(pems)).toHaveLength(5);
    const certs = keychainCertificates(identities, pems);
    expect(certs.map((c) => [c.commonName, c.privateKey, c.id])).toEqual([
      ['POPESCU ION', 'present', sha1(pki.client.certPem)],
      ['EXPIRED POPESCU', 'present', sha1(pki.expiredClient.certPem)],
      ['IONESCU MARIA', 'absent', sha1(pki.clientEc.certPem)],
    ]);
    expect(certs[1]!.label).toBe('EXPIRED POPESCU (CSSMERR_TP_CERT_EXPIRED)');
    expect(certificateWarnings(certs[0]!)).toEqual([]);
    expect(certificateWarnings(certs[1]!)).toContain('expired');
    expect(certificateWarnings(certs[2]!)).toEqual(['no-private-key']);
  });

  it('stores the key through security -i with nothing that could break out of its command line', () => {
    expect(addPasswordCommand('anaf-token', 'vault-key:0123abcd', 'qUi+/x=')).toBe('add-generic-password -U -s anaf-token -a vault-key:0123abcd -w qUi+/x=\n');
    expect(() => addPasswordCommand('anaf-token', 'a b', 'x')).toThrow();
    expect(() => addPasswordCommand('anaf-token', 'a', 'x"; delete-keychain')).toThrow();
  });
});

describe('certificate facts', () => {
  it('names the holder kind without the number', () => {
    expect(certificateHolder('CN=POPESCU ION, serialNumber=PNORO-1800101123456, C=RO')).toBe('person');
    expect(certificateHolder('CN=FIRMA SRL, organizationIdentifier=VATRO-12345678, O=FIRMA SRL, C=RO')).toBe('company');
    expect(certificateHolder('CN=FIRMA SRL, 2.5.4.97=VATRO-12345678, C=RO')).toBe('company');
    expect(certificateHolder('CN=IONESCU MARIA, C=RO')).toBe('unknown');
  });

  it('client authentication: no EKU, clientAuth or anyExtendedKeyUsage', () => {
    expect(clientAuth({ extendedKeyUsage: [] })).toBe(true);
    expect(clientAuth({ extendedKeyUsage: ['emailProtection', 'clientAuth'] })).toBe(true);
    expect(clientAuth({ extendedKeyUsage: ['2.5.29.37.0'] })).toBe(true);
    expect(clientAuth({ extendedKeyUsage: ['emailProtection', 'documentSigning'] })).toBe(false);
  });
});

describe('koffi and NSS parameters', () => {
  it('looks for koffi.node beside the code, beside the executable only in a single executable, then in node_modules', () => {
    expect(koffiTriplets('win32', 'x64')).toEqual(['win32_x64']);
    expect(koffiTriplets('darwin', 'arm64')).toEqual(['darwin_arm64']);
    expect(koffiTriplets('linux', 'x64')).toEqual(['linux_x64', 'musl_x64']);
    const found = koffiCandidates({}, ['win32_x64']);
    expect(found[0]).toBe(path.join(path.resolve('native-host/src/platform'), 'koffi', 'win32_x64', 'koffi.node'));
    // Not a SEA here: the folder of the `node` that runs us may be shared, so it is not searched.
    expect(found).not.toContain(path.join(path.dirname(process.execPath), 'koffi', 'win32_x64', 'koffi.node'));
    expect(found).toHaveLength(2);
    expect(found.at(-1)).toBe(path.resolve('node_modules/koffi/build/koffi/win32_x64/koffi.node'));
    expect(fs.existsSync(found.at(-1)!)).toBe(true);
    expect(koffiCandidates({ ANAF_TOKEN_KOFFI: '/opt/x/koffi.node' })).toEqual(['/opt/x/koffi.node']);
  });

  it.runIf(process.platform === 'linux')('loads koffi here (Linux) from node_modules, and calls into libc with it', () => {
    const koffi = loadKoffi();
    expect(koffiFile()).toBe(path.resolve(`node_modules/koffi/build/koffi/${koffiTriplets()[0]}/koffi.node`));
    const getpid = koffi.load('libc.so.6').func('int getpid()');
    expect(getpid()).toBe(process.pid);
  });

  it("opens NSS's database read-only, and refuses a path NSS's syntax cannot carry", () => {
    expect(softoknParameters('/home/ion/.pki/nssdb')).toBe(
      "configdir='sql:/home/ion/.pki/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly ",
    );
    expect(() => softoknParameters("/home/o'brien/.pki/nssdb")).toThrow(/quote/);
  });
});

describe('key store for a new vault', () => {
  it('Windows: DPAPI whatever ANAF_TOKEN_KEYSTORE says, except file', () => {
    const keyFile = path.join(tempDir('ks'), 'vault.key');
    expect(chooseKeyStore(keyFile, 'ns', {}, 'win32').kind).toBe('dpapi');
    expect(chooseKeyStore(keyFile, 'ns', { ANAF_TOKEN_KEYSTORE: 'keychain' }, 'win32').kind).toBe('dpapi');
    expect(chooseKeyStore(keyFile, 'ns', { ANAF_TOKEN_KEYSTORE: 'file' }, 'win32').kind).toBe('file');
  });

  it('Linux without a session bus: the 0600 key file; neither kind takes the file of the other', () => {
    const keyFile = path.join(tempDir('ks'), 'vault.key');
    const store = chooseKeyStore(keyFile, 'ns', {}, 'linux');
    expect(store.kind).toBe('file');
    const key = store.create();
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fileKeyStore(keyFile).read()).toEqual(key);
    // A plain key is never sent to DPAPI, and a DPAPI blob is never taken for a plain key.
    expect(() => keyStoreOfKind('dpapi', keyFile, 'ns').read()).toThrow(/does not hold a DPAPI-wrapped key/);
    fs.writeFileSync(keyFile, 'dpapi:AAAA\n');
    expect(() => fileKeyStore(keyFile).read()).toThrow(/wrapped by Windows/);
  });
});

describe("koffi's Windows binary", () => {
  it('needs no DLL a clean Windows lacks (no Visual C++ runtime, unlike @napi-rs/keyring)', () => {
    const dlls = peImports(path.resolve('node_modules/koffi/build/koffi/win32_x64/koffi.node')).map((d) => d.toLowerCase());
    expect(dlls).toContain('kernel32.dll');
    // node.exe is delay-loaded: the addon hook finds the running executable, renamed or not.
    expect(dlls.filter((d) => !['kernel32.dll', 'advapi32.dll', 'node.exe'].includes(d))).toEqual([]);
  });
});
