/**
 * Chromium's managed policy that picks the client certificate for the stand-in without a
 * dialog (headless cannot show one). Machine-wide: written by the e2e global setup, removed
 * at its teardown.
 */
import fs from 'node:fs';
import path from 'node:path';

export const POLICY_FILE = '/etc/chromium/policies/managed/anaf-token-e2e.json';

export function writeAutoSelectPolicy(): void {
  fs.mkdirSync(path.dirname(POLICY_FILE), { recursive: true });
  const rule = JSON.stringify({ pattern: 'https://127.0.0.1:*', filter: {} });
  fs.writeFileSync(POLICY_FILE, JSON.stringify({ AutoSelectCertificateForUrls: [rule] }, null, 2) + '\n');
}

export function removeAutoSelectPolicy(): void {
  fs.rmSync(POLICY_FILE, { force: true });
}
