// Test PKI for the ANAF stand-in: a CA, a loopback server cert, client certs (RSA, EC,
// expired) and a client cert from a rogue CA. Built with the openssl CLI so the files are
// exactly what browsers/NSS/curl would be given in integration tests.
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface PkiCert {
  certFile: string;
  certPem: string;
}
export interface PkiCertKey extends PkiCert {
  keyFile: string;
  keyPem: string;
}
export interface PkiClientCert extends PkiCertKey {
  /** PKCS#12 bundle (cert + key + CA chain), EMPTY password. */
  p12File: string;
  /** Subject as RFC 4514-style string, most specific RDN first. */
  subject: string;
  commonName: string;
}
export interface Pki {
  dir: string;
  ca: PkiCertKey & { subject: string };
  server: PkiCertKey & { names: string[] };
  /** RSA 2048, "CN=POPESCU ION, serialNumber=PNORO-1800101123456, GN=ION, SN=POPESCU, C=RO". */
  client: PkiClientCert;
  /** EC P-256, "CN=IONESCU MARIA, C=RO". */
  clientEc: PkiClientCert;
  /** Issued by the test CA, notAfter in the past. */
  expiredClient: PkiCertKey & { subject: string; commonName: string };
  rogueCa: PkiCertKey;
  /** Same subject as `client` but issued by the rogue CA: must be rejected. */
  rogueClient: PkiCertKey & { subject: string; commonName: string };
}

export interface MakePkiOptions {
  /** Extra DNS SANs for the server certificate (127.0.0.1, ::1, localhost are always there). */
  serverNames?: string[];
}

const PKI_VERSION = 2;
const LEAF_DAYS = 397; // Chromium rejects leaf certificates valid for more than 398 days
const CA_DAYS = 3650;

const FILES = {
  caCert: 'ca.pem',
  caKey: 'ca.key',
  serverCert: 'server.pem',
  serverKey: 'server.key',
  clientCert: 'client.pem',
  clientKey: 'client.key',
  clientP12: 'client.p12',
  clientEcCert: 'client-ec.pem',
  clientEcKey: 'client-ec.key',
  clientEcP12: 'client-ec.p12',
  expiredCert: 'expired-client.pem',
  expiredKey: 'expired-client.key',
  rogueCaCert: 'rogue-ca.pem',
  rogueCaKey: 'rogue-ca.key',
  rogueClientCert: 'rogue-client.pem',
  rogueClientKey: 'rogue-client.key',
} as const;
type FileKey = keyof typeof FILES;

// openssl -subj form lists RDNs least specific first.
const SUBJ = {
  ca: '/C=RO/O=anaf-token tests/CN=ANAF Stand-in Test CA',
  server: '/C=RO/O=anaf-token tests/CN=localhost',
  client: '/C=RO/SN=POPESCU/GN=ION/serialNumber=PNORO-1800101123456/CN=POPESCU ION',
  clientEc: '/C=RO/CN=IONESCU MARIA',
  expired: '/C=RO/CN=EXPIRED POPESCU',
  rogueCa: '/C=RO/O=rogue/CN=Rogue Test CA',
  rogueClient: '/C=RO/serialNumber=PNORO-1800101123456/CN=POPESCU ION',
} as const;

interface PkiJson {
  version: number;
  serverNames: string[];
  files: Record<FileKey, string>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd, maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message}`);
  }
}

function randomSerial(): string {
  // Positive 128-bit serial; top bit cleared so DER encoding stays positive.
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x10;
  return '0x' + b.toString('hex');
}

/** "CN=...,serialNumber=...,C=RO" from a node X509Certificate (which lists C first, one per line). */
export function dnString(cert: X509Certificate): string {
  return cert.subject.split('\n').reverse().join(',');
}

function commonNameOf(subject: string): string {
  const m = /(?:^|,)CN=([^,]*)/.exec(subject);
  return m?.[1] ?? '';
}

function extFile(sections: Record<string, Record<string, string>>): string {
  return (
    Object.entries(sections)
      .map(
        ([name, kv]) =>
          `[ ${name} ]\n` +
          Object.entries(kv)
            .map(([k, v]) => `${k} = ${v}`)
            .join('\n'),
      )
      .join('\n\n') + '\n'
  );
}

const CLIENT_EXT = {
  basicConstraints: 'critical,CA:false',
  keyUsage: 'critical,digitalSignature,nonRepudiation',
  extendedKeyUsage: 'clientAuth,emailProtection',
  subjectKeyIdentifier: 'hash',
  authorityKeyIdentifier: 'keyid',
  // ETSI EN 319 412-5 statements of a qualified signature certificate on a QSCD:
  // QcCompliance, QcSSCD, QcType = esign (what a Romanian QTSP puts on the USB-token certificate).
  '1.3.6.1.5.5.7.1.3': 'DER:3029' + '3008060604008E460101' + '3008060604008E460104' + '3013060604008E4601063009060704008E46010601',
};

async function makeCa(work: string, key: string, cert: string, subj: string): Promise<void> {
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(CA_DAYS),
      '-subj',
      subj,
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectKeyIdentifier=hash',
      '-set_serial',
      randomSerial(),
    ],
    work,
  );
}

async function makeCsr(work: string, key: string, csr: string, subj: string, ec: boolean): Promise<void> {
  const keyArgs = ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  await openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', key, '-out', csr, '-subj', subj], work);
}

async function signLeaf(work: string, csr: string, caCert: string, caKey: string, out: string, ext: Record<string, string>): Promise<void> {
  const extPath = path.join(work, `${out}.ext`);
  await fsp.writeFile(extPath, extFile({ v3: ext }));
  await openssl(
    [
      'x509',
      '-req',
      '-sha256',
      '-in',
      csr,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-set_serial',
      randomSerial(),
      '-days',
      String(LEAF_DAYS),
      '-extfile',
      extPath,
      '-extensions',
      'v3',
      '-out',
      out,
    ],
    work,
  );
}

/** OpenSSL 3.0's x509 has no -not_after, so the expired cert goes through `openssl ca`. */
async function signExpired(work: string, csr: string, caCert: string, caKey: string, out: string): Promise<void> {
  const db = path.join(work, 'cadb');
  await fsp.mkdir(db);
  await fsp.writeFile(path.join(db, 'index.txt'), '');
  await fsp.writeFile(path.join(db, 'serial'), randomSerial().slice(2).toUpperCase() + '\n');
  const cnf = path.join(work, 'ca.cnf');
  await fsp.writeFile(
    cnf,
    extFile({
      ca: { default_ca: 'testca' },
      testca: {
        database: path.join(db, 'index.txt'),
        new_certs_dir: db,
        serial: path.join(db, 'serial'),
        default_md: 'sha256',
        policy: 'pol',
        unique_subject: 'no',
        copy_extensions: 'none',
      },
      pol: { commonName: 'supplied', countryName: 'optional' },
      ext_client: CLIENT_EXT,
    }),
  );
  await openssl(
    [
      'ca',
      '-batch',
      '-config',
      cnf,
      '-cert',
      caCert,
      '-keyfile',
      caKey,
      '-in',
      csr,
      '-out',
      out,
      '-notext',
      '-preserveDN',
      '-extensions',
      'ext_client',
      '-startdate',
      '20230101000000Z',
      '-enddate',
      '20240101000000Z',
    ],
    work,
  );
}

async function exportP12(work: string, cert: string, key: string, ca: string, name: string, out: string): Promise<void> {
  // OpenSSL 3 defaults (PBES2/AES-256, SHA-256 MAC) with an empty password.
  await openssl(['pkcs12', '-export', '-in', cert, '-inkey', key, '-certfile', ca, '-name', name, '-passout', 'pass:', '-out', out], work);
}

async function generate(dir: string, serverNames: string[]): Promise<void> {
  // Work in a 0700 directory so private keys are never readable by others, then move into place.
  const work = await fsp.mkdtemp(path.join(dir, '.work-'));
  try {
    const f = FILES;
    await makeCa(work, f.caKey, f.caCert, SUBJ.ca);
    await makeCa(work, f.rogueCaKey, f.rogueCaCert, SUBJ.rogueCa);

    const san = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...serverNames.map((n) => `DNS:${n}`)].join(',');
    await makeCsr(work, f.serverKey, 'server.csr', SUBJ.server, false);
    await signLeaf(work, 'server.csr', f.caCert, f.caKey, f.serverCert, {
      basicConstraints: 'critical,CA:false',
      keyUsage: 'critical,digitalSignature,keyEncipherment',
      extendedKeyUsage: 'serverAuth',
      subjectAltName: san,
      subjectKeyIdentifier: 'hash',
      authorityKeyIdentifier: 'keyid',
    });

    await makeCsr(work, f.clientKey, 'client.csr', SUBJ.client, false);
    await signLeaf(work, 'client.csr', f.caCert, f.caKey, f.clientCert, CLIENT_EXT);
    await exportP12(work, f.clientCert, f.clientKey, f.caCert, 'POPESCU ION', f.clientP12);

    await makeCsr(work, f.clientEcKey, 'client-ec.csr', SUBJ.clientEc, true);
    await signLeaf(work, 'client-ec.csr', f.caCert, f.caKey, f.clientEcCert, CLIENT_EXT);
    await exportP12(work, f.clientEcCert, f.clientEcKey, f.caCert, 'IONESCU MARIA', f.clientEcP12);

    await makeCsr(work, f.expiredKey, 'expired.csr', SUBJ.expired, false);
    await signExpired(work, 'expired.csr', f.caCert, f.caKey, f.expiredCert);

    await makeCsr(work, f.rogueClientKey, 'rogue-client.csr', SUBJ.rogueClient, false);
    await signLeaf(work, 'rogue-client.csr', f.rogueCaCert, f.rogueCaKey, f.rogueClientCert, CLIENT_EXT);

    for (const name of Object.values(FILES)) {
      const secret = name.endsWith('.key') || name.endsWith('.p12');
      await fsp.chmod(path.join(work, name), secret ? 0o600 : 0o644);
    }
    for (const name of Object.values(FILES)) {
      await fsp.rename(path.join(work, name), path.join(dir, name));
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

function filesFor(dir: string): Record<FileKey, string> {
  const out = {} as Record<FileKey, string>;
  for (const [k, v] of Object.entries(FILES) as [FileKey, string][]) out[k] = path.join(dir, v);
  return out;
}

/** The fast path is only safe if nothing is missing, names cover the request, and certs are not about to expire. */
function reusable(dir: string, serverNames: string[]): boolean {
  const jsonPath = path.join(dir, 'pki.json');
  if (!fs.existsSync(jsonPath)) return false;
  try {
    const j = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as Partial<PkiJson>;
    if (j.version !== PKI_VERSION || !Array.isArray(j.serverNames)) return false;
    if (!serverNames.every((n) => j.serverNames?.includes(n))) return false;
    const files = filesFor(dir);
    if (!Object.values(files).every((p) => fs.existsSync(p))) return false;
    const soon = Date.now() + 24 * 3600 * 1000;
    for (const p of [files.caCert, files.serverCert, files.clientCert, files.clientEcCert]) {
      const c = new X509Certificate(fs.readFileSync(p));
      if (Date.parse(c.validTo) < soon) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  // Several test files may share one PKI dir; a mkdir lock keeps them from interleaving files.
  const lock = path.join(dir, '.make-pki.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await fsp.mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fsp.stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 60_000) {
        await fsp.rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for PKI lock ${lock}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(lock, { recursive: true, force: true });
  }
}

function load(dir: string, serverNames: string[]): Pki {
  const f = filesFor(dir);
  const read = (p: string): string => fs.readFileSync(p, 'utf8');
  const subjectOf = (p: string): string => dnString(new X509Certificate(read(p)));
  const ck = (cert: string, key: string): PkiCertKey => ({
    certFile: cert,
    certPem: read(cert),
    keyFile: key,
    keyPem: read(key),
  });
  const client = (cert: string, key: string, p12: string): PkiClientCert => {
    const subject = subjectOf(cert);
    return { ...ck(cert, key), p12File: p12, subject, commonName: commonNameOf(subject) };
  };
  const named = (cert: string, key: string): PkiCertKey & { subject: string; commonName: string } => {
    const subject = subjectOf(cert);
    return { ...ck(cert, key), subject, commonName: commonNameOf(subject) };
  };
  return {
    dir,
    ca: { ...ck(f.caCert, f.caKey), subject: subjectOf(f.caCert) },
    server: { ...ck(f.serverCert, f.serverKey), names: ['127.0.0.1', '::1', 'localhost', ...serverNames] },
    client: client(f.clientCert, f.clientKey, f.clientP12),
    clientEc: client(f.clientEcCert, f.clientEcKey, f.clientEcP12),
    expiredClient: named(f.expiredCert, f.expiredKey),
    rogueCa: ck(f.rogueCaCert, f.rogueCaKey),
    rogueClient: named(f.rogueClientCert, f.rogueClientKey),
  };
}

export async function makePki(dir: string, opts: MakePkiOptions = {}): Promise<Pki> {
  const abs = path.resolve(dir);
  await fsp.mkdir(abs, { recursive: true });
  const wanted = [...new Set(opts.serverNames ?? [])];
  if (reusable(abs, wanted)) return load(abs, readNames(abs));
  return withLock(abs, async () => {
    if (reusable(abs, wanted)) return load(abs, readNames(abs));
    // Keep names a previous run asked for, so two callers with different lists converge.
    const names = [...new Set([...readNames(abs), ...wanted])];
    await fsp.rm(path.join(abs, 'pki.json'), { force: true });
    await generate(abs, names);
    const json: PkiJson = { version: PKI_VERSION, serverNames: names, files: filesFor(abs) };
    const tmp = path.join(abs, `.pki.json.${process.pid}`);
    await fsp.writeFile(tmp, JSON.stringify(json, null, 2) + '\n');
    await fsp.rename(tmp, path.join(abs, 'pki.json'));
    return load(abs, names);
  });
}

function readNames(dir: string): string[] {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'pki.json'), 'utf8')) as Partial<PkiJson>;
    return Array.isArray(j.serverNames) ? j.serverNames.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}
