/**
 * The TLS certificate of the loopback callback listener (`authorize --listen`): self-signed for
 * localhost, 127.0.0.1 and ::1, made here with WebCrypto (no openssl process) and kept in the
 * data folder (0600), so the user can trust it once in the browser. A new one is made when the
 * kept one is missing, unreadable, expired or about to expire.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from '../config/paths.js';
import { writeFileAtomic } from '../config/safe-paths.js';

/** A certificate this close to its end is replaced, so it cannot expire during a login. */
const RENEW_BEFORE_MS = 24 * 3_600_000;

export interface LocalCert {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by ':' (as browsers show it). */
  sha256: string;
  notAfter: Date;
  certFile: string;
  /** true when it was made by this call (the browser has not seen it yet). */
  created: boolean;
}

export function localCertFiles(dataDir: string): { certFile: string; keyFile: string } {
  const dir = path.join(dataDir, 'callback-tls');
  return { certFile: path.join(dir, 'localhost-cert.pem'), keyFile: path.join(dir, 'localhost-key.pem') };
}

export function fingerprint(der: ArrayBuffer | Uint8Array): string {
  const hex = crypto.createHash('sha256').update(new Uint8Array(der)).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** Writes next to the target (0600, never through a link) and renames, so a reader never sees half a file. */
function writePrivate(file: string, text: string): void {
  writeFileAtomic(file, text, 0o600);
}

/** The kept certificate, if it is whole, ours (the right names, its key matches) and not near its end. */
function readKept(certFile: string, keyFile: string, now: number): LocalCert | undefined {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = fs.readFileSync(certFile, 'utf8');
    keyPem = fs.readFileSync(keyFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const cert = new crypto.X509Certificate(certPem);
    const key = crypto.createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) return undefined;
    const notAfter = new Date(cert.validTo);
    if (notAfter.getTime() - RENEW_BEFORE_MS <= now || new Date(cert.validFrom).getTime() > now + 60_000) return undefined;
    if (!cert.checkHost('localhost') || !cert.checkIP('127.0.0.1') || !cert.checkIP('::1')) return undefined;
    return { certPem, keyPem, sha256: fingerprint(cert.raw), notAfter, certFile, created: false };
  } catch {
    return undefined;
  }
}

/** The listener's certificate: the kept one when it is still good, else a new one (kept for next time). */
export async function localCallbackCert(dataDir: string, now = Date.now()): Promise<LocalCert> {
  const { certFile, keyFile } = localCertFiles(dataDir);
  const kept = readKept(certFile, keyFile, now);
  if (kept) return kept;
  // The X.509 library is loaded only here: once a year or so, not on every run.
  const { makeLocalCert } = await import('./local-tls-cert-make.js');
  const made = await makeLocalCert(now);
  ensurePrivateDir(path.dirname(certFile));
  // The key first: a reader that finds the new certificate also finds its key.
  writePrivate(keyFile, made.keyPem);
  writePrivate(certFile, made.certPem);
  return { certPem: made.certPem, keyPem: made.keyPem, sha256: fingerprint(made.der), notAfter: made.notAfter, certFile, created: true };
}
