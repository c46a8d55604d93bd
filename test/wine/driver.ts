/**
 * Runs under `wine node.exe` (the Windows build of Node): our key store and certificate-store
 * code, bundled by the test with esbuild, against wine's own crypt32 (DPAPI, system stores).
 * One command per run; one JSON line on stdout. Never prints a key: only whether things match.
 *   dpapi <keyFile>            create (or read) the vault key through chooseKeyStore, read it back
 *   dpapi-read <keyFile>       read it in a new process; its SHA-256 to compare across runs
 *   dpapi-foreign <keyFile>    unwrap the file with another entropy (must fail)
 *   dpapi-floor <keyFile>      record the vault schema floor 2 with the key (replacing the file), read it back verified
 *   add-cert <derFile> <key|nokey>  put a certificate in CurrentUser\My, with or without a key link
 *   list                       CurrentUser\My through certstores/windows.ts
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { crypt32, windowsStoreReport } from '../../native-host/src/certstores/windows.js';
import { koffiFile } from '../../native-host/src/platform/koffi.js';
import { dpapiUnprotect } from '../../native-host/src/platform/dpapi.js';
import { chooseKeyStore, keyStoreOfKind } from '../../native-host/src/vault/key-store.js';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * The product's crypt32 declarations (certstores/windows.ts: koffi, CRYPT_KEY_PROV_INFO, opening and
 * closing a store), plus the three calls only a test needs: adding a certificate and its key link.
 */
function addCert(derFile: string, withKey: boolean): unknown {
  const c = crypt32();
  const lib = c.koffi.load('crypt32.dll');
  const add = lib.func(
    'bool __stdcall CertAddEncodedCertificateToStore(void *hCertStore, uint32_t dwCertEncodingType, const uint8_t *pbCertEncoded, uint32_t cbCertEncoded, uint32_t dwAddDisposition, _Out_ void **ppCertContext)',
  );
  const setProp = lib.func(
    'bool __stdcall CertSetCertificateContextProperty(void *pCertContext, uint32_t dwPropId, uint32_t dwFlags, CRYPT_KEY_PROV_INFO *pvData)',
  );
  const free = lib.func('bool __stdcall CertFreeCertificateContext(void *pCertContext)');
  const der = fs.readFileSync(derFile);
  // CERT_STORE_PROV_SYSTEM_W, CERT_SYSTEM_STORE_CURRENT_USER: CurrentUser\My, writable.
  const store = c.openStore(10, 0, null, 1 << 16, 'MY');
  if (!store) throw new Error('CertOpenStore(CurrentUser\\My) failed');
  try {
    const ctx: unknown[] = [null];
    // X509_ASN_ENCODING | PKCS_7_ASN_ENCODING; CERT_STORE_ADD_REPLACE_EXISTING
    if (!add(store, 0x10001, der, der.length, 3, ctx)) throw new Error('CertAddEncodedCertificateToStore failed');
    try {
      if (withKey) {
        const info = {
          pwszContainerName: 'anaf-token-test',
          pwszProvName: 'Microsoft Software Key Storage Provider',
          dwProvType: 0,
          dwFlags: 0,
          cProvParam: 0,
          rgProvParam: null,
          dwKeySpec: 0,
        };
        if (!setProp(ctx[0], 2, 0, info)) throw new Error('CertSetCertificateContextProperty(KEY_PROV_INFO) failed');
      }
    } finally {
      free(ctx[0]);
    }
  } finally {
    c.closeStore(store, 0);
  }
  return { added: true };
}

function main(): unknown {
  const [cmd, a, b] = process.argv.slice(2);
  switch (cmd) {
    case 'dpapi': {
      const store = chooseKeyStore(a!, 'wine-test', {});
      const key = store.read() ?? store.create();
      const again = keyStoreOfKind(store.kind, a!, 'wine-test').read();
      const text = fs.readFileSync(a!, 'utf8');
      return {
        kind: store.kind,
        koffi: koffiFile(),
        readBack: again?.equals(key) ?? false,
        keySha256: sha(key),
        keyInFile: text.includes(key.toString('base64')) || text.includes(key.toString('hex')),
      };
    }
    case 'dpapi-read': {
      const key = keyStoreOfKind('dpapi', a!, 'wine-test').read();
      return { keySha256: key ? sha(key) : null, koffi: koffiFile(), exe: process.execPath };
    }
    case 'dpapi-floor': {
      const store = keyStoreOfKind('dpapi', a!, 'wine-test');
      const before = store.verifiedRecord()!;
      const raised = store.raiseFloor(before.key, 2);
      const again = store.raiseFloor(before.key, 2);
      const after = keyStoreOfKind('dpapi', a!, 'wine-test').verifiedRecord()!;
      const text = fs.readFileSync(a!, 'utf8');
      return {
        before: before.floor,
        raised,
        again,
        floor: after.floor,
        sameKey: after.key.equals(before.key),
        keyInFile: text.includes(before.key.toString('base64')),
      };
    }
    case 'dpapi-foreign': {
      const text = fs.readFileSync(a!, 'utf8').trim();
      try {
        dpapiUnprotect(Buffer.from(text.slice('dpapi:'.length), 'base64'), Buffer.from('another program', 'utf8'));
        return { refused: false };
      } catch (e) {
        return { refused: true, error: (e as Error).message };
      }
    }
    case 'add-cert':
      return addCert(a!, b === 'key');
    case 'list':
      return windowsStoreReport();
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

try {
  process.stdout.write(JSON.stringify({ ok: true, platform: process.platform, result: main() }) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }) + '\n');
}
