/**
 * `browser-certs`: what the browser will offer at ANAF's login, from the store it uses on this
 * OS (Windows CurrentUser\My, the macOS keychain, Chromium's NSS database on Linux), with the
 * same warnings as `certs`. On Windows this is the listing that matters: the browser takes the
 * certificate from the store, which the token's minidriver fills.
 */
import type { Command } from 'commander';
import { CERTIFICATE_HOLDER_TEXT, CERTIFICATE_WARNING_TEXT, certificateHolder, certificateWarnings } from '#shared/certificate-warnings.js';
import { AppError } from '#shared/errors.js';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import { browserStores } from '../../certstores/browser-stores.js';
import { action, jsonOption, makeApp } from '../context.js';
import { printJson, table } from '../output.js';

const STORE_NAMES: Record<BrowserStoreReport['store'], string> = {
  'windows-my': 'Windows certificate store / depozitul de certificate Windows',
  'macos-keychain': 'macOS keychain / portchei macOS',
  nss: 'Chromium NSS database / baza de date NSS a browserului',
};

const day = (iso: string) => iso.slice(0, 10);

export function renderStores(stores: BrowserStoreReport[], now = Date.now()): string {
  if (!stores.length) {
    return 'The browser keeps no certificates of its own here (no ~/.pki/nssdb): it offers only those of a USB token (see "anaf-token certs").\nBrowserul nu are certificate proprii aici: oferă doar certificatele de pe cheia USB (vedeți "anaf-token certs").\n';
  }
  let out = '';
  for (const s of stores) {
    out += `\n${STORE_NAMES[s.store]}: ${s.location}\n`;
    if (s.error) out += `  ! [${s.error.code}] ${s.error.message.ro} / ${s.error.message.en}${s.error.detail ? ` (${s.error.detail})` : ''}\n`;
    else if (!s.certificates.length) out += '  no client certificates / niciun certificat client\n';
    for (const c of s.certificates) {
      const q = c.qualified.compliance
        ? `qualified${c.qualified.qscd ? ' QSCD' : ''}${c.qualified.types.length ? ' ' + c.qualified.types.join(',') : ''}`
        : 'not qualified';
      const holder = CERTIFICATE_HOLDER_TEXT[certificateHolder(c.subject)];
      out += `  [${c.id || '-'}] ${c.commonName}${c.label && c.label !== c.commonName ? ` (${c.label})` : ''}\n`;
      out += table([
        ['', 'serial', c.serialHex],
        ['', 'issuer', c.issuer],
        ['', 'holder', `${holder.en} / ${holder.ro}`],
        ['', 'valid', `${day(c.notBefore)} → ${day(c.notAfter)}`],
        ['', 'key', `${c.keyAlgorithm}, private key ${c.privateKey}`],
        ['', 'usage', `${[...c.keyUsage, ...c.extendedKeyUsage].join(', ') || 'any'}; ${q}`],
      ]).replace(/^(?=.)/gm, '  ');
      for (const w of certificateWarnings(c, now)) out += `    ⚠ ${CERTIFICATE_WARNING_TEXT[w].ro} / ${CERTIFICATE_WARNING_TEXT[w].en}\n`;
    }
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('browser-certs')
    .description("certificates the browser will offer at ANAF's login: Windows certificate store, macOS keychain, or Chromium's NSS database")
    .addOption(jsonOption())
    .action(
      action(async (opts: { json?: boolean }) => {
        const app = makeApp('cli');
        try {
          const stores = await browserStores();
          app.log.log('info', 'certstores.list', { stores: stores.length, certificates: stores.reduce((n, s) => n + s.certificates.length, 0) });
          // Nothing could be read at all: the answer is the first store's error (one JSON document).
          const firstError = stores.find((s) => s.error)?.error;
          const failed = firstError !== undefined && stores.every((s) => s.error);
          if (opts.json && !failed) printJson(stores);
          if (!opts.json) process.stdout.write(renderStores(stores));
          if (failed) throw AppError.fromPayload(firstError);
        } finally {
          await app.close();
        }
      }),
    );
}
