/**
 * macOS: Chrome and Edge offer the keychain's identities (a certificate with its private key,
 * from the login keychain or a token through CryptoTokenKit). Read with Apple's `security` tool:
 *   security find-identity -p ssl-client        identities valid for TLS client auth, and why not
 *   security find-certificate -a -p             every certificate in the search list, as PEM
 * Identities are matched to certificates by SHA-1 (the hash find-identity prints). A leaf
 * certificate without a key is listed too, with its key 'absent': the user imported the
 * certificate alone, and the browser will not offer it.
 *
 * Written against the tools' documented output; no Mac has run it (see the unit tests for the
 * text it was checked against).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { AppError } from '#shared/errors.js';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import type { CertificateDetails } from '#shared/schemas/pkcs11.js';
import { certificateDetails } from '../pkcs11/cert-details.js';

export const KEYCHAIN_LOCATION = 'keychain search list (login, System)';
const MAX_OUTPUT = 32 * 1024 * 1024;
/** More than a person's keychain ever holds as client certificates: the answer must fit a native message. */
const MAX_CERTIFICATES = 200;

export interface Identity {
  /** SHA-1 of the certificate, upper-case hex. */
  sha1: string;
  name: string;
  /** What macOS says is wrong with it, e.g. CSSMERR_TP_CERT_EXPIRED. */
  problem?: string;
}

/** `security find-identity -p ssl-client` output: the "Matching identities" list (valid or not). */
export function parseFindIdentity(text: string): Identity[] {
  const out = new Map<string, Identity>();
  for (const line of text.split('\n')) {
    const m = /^\s*\d+\)\s+([0-9A-Fa-f]{40})\s+"((?:[^"\\]|\\.)*)"(?:\s+\(([^)]*)\))?\s*$/.exec(line);
    if (!m) continue;
    const sha1 = m[1]!.toUpperCase();
    if (out.has(sha1)) continue; // the "Valid identities only" list repeats the valid ones
    out.set(sha1, { sha1, name: m[2]!.replace(/\\(.)/g, '$1'), ...(m[3] ? { problem: m[3] } : {}) });
  }
  return [...out.values()];
}

/** The certificates in `security find-certificate -a -p` output (PEM blocks), as DER. */
export function parsePemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g)) {
    out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

const sha1Of = (der: Buffer) => crypto.createHash('sha1').update(der).digest('hex').toUpperCase();

/** The listing from the two outputs: identities with their key, other leaf certificates without. */
export function keychainCertificates(identityText: string, pemText: string): CertificateDetails[] {
  const identities = new Map(parseFindIdentity(identityText).map((i) => [i.sha1, i]));
  const certs = new Map<string, CertificateDetails>();
  for (const der of parsePemCertificates(pemText)) {
    const sha1 = sha1Of(der);
    if (certs.has(sha1)) continue;
    const identity = identities.get(sha1);
    let details: CertificateDetails;
    try {
      const label = identity ? `${identity.name}${identity.problem ? ` (${identity.problem})` : ''}` : '';
      details = { ...certificateDetails(der, '', label.slice(0, 512), identity ? 'present' : 'absent'), id: sha1 };
    } catch {
      continue;
    }
    // Without a key, only a certificate a person could have meant for signing in is worth a line.
    if (!identity && (details.keyUsage.includes('keyCertSign') || !details.signature)) continue;
    certs.set(sha1, details);
  }
  return [...certs.values()].slice(0, MAX_CERTIFICATES);
}

function security(args: string[]): string {
  const r = spawnSync('/usr/bin/security', args, { encoding: 'utf8', timeout: 20_000, maxBuffer: MAX_OUTPUT });
  if (r.error) throw new AppError('CERT_STORE_UNAVAILABLE', `security ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new AppError('CERT_STORE_UNAVAILABLE', `security ${args[0]}: ${r.stderr.trim().slice(0, 200) || `exit ${r.status}`}`);
  return r.stdout;
}

export function keychainReport(): BrowserStoreReport {
  try {
    const certificates = keychainCertificates(security(['find-identity', '-p', 'ssl-client']), security(['find-certificate', '-a', '-p']));
    return { store: 'macos-keychain', location: KEYCHAIN_LOCATION, certificates };
  } catch (e) {
    const err = AppError.from(e, 'CERT_STORE_UNAVAILABLE', (x) => x.message.slice(0, 300));
    return { store: 'macos-keychain', location: KEYCHAIN_LOCATION, certificates: [], error: err.toPayload() };
  }
}
