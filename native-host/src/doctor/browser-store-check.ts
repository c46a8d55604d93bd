/**
 * The certificate store the browser uses (Windows CurrentUser\My, the macOS keychain, Chromium's
 * NSS database on Linux): what it will offer at ANAF's login, with the same warnings as the
 * token's certificates. On Windows this is what matters (the token's minidriver puts its
 * certificate there); elsewhere it covers a certificate imported into the browser.
 */
import { CERTIFICATE_WARNING_TEXT, certificateWarnings, usableForAnaf } from '#shared/certificate-warnings.js';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';
import { browserStoresOnce, type BrowserStoresOptions } from '../certstores/browser-stores.js';
import type { Check, Finding } from './check.js';

const CHECK = 'browser-certs';

export interface BrowserStoreCheckOptions {
  /** How the stores are read (tests replace it). */
  read?: (opts: BrowserStoresOptions) => Promise<BrowserStoreReport[]>;
}

export function makeBrowserStoreCheck(opts: BrowserStoreCheckOptions = {}): Check {
  return {
    id: CHECK,
    async run(ctx) {
      // The stores are read through this OS's own libraries: another platform's cannot be looked at from here.
      if (ctx.platform !== process.platform && !opts.read) {
        return [{ check: CHECK, status: 'info', message: `the ${ctx.platform} certificate store can only be read on ${ctx.platform}` }];
      }
      const where = { platform: ctx.platform, home: ctx.home };
      const stores = await (opts.read ? opts.read(where) : browserStoresOnce(ctx, where));
      if (!stores.length) {
        return [
          { check: CHECK, status: 'info', message: 'the browser keeps no certificates of its own here (no ~/.pki/nssdb); it offers those of the USB token' },
        ];
      }
      const findings: Finding[] = [];
      const now = ctx.now();
      const usable: string[] = [];
      for (const s of stores) {
        if (s.error) {
          findings.push({
            check: CHECK,
            subject: s.location,
            status: 'warn',
            message: `${s.error.code}${s.error.detail ? `: ${s.error.detail}` : ''}`,
            advice: { ro: s.error.message.ro, en: s.error.message.en },
          });
          continue;
        }
        for (const c of s.certificates) {
          if (usableForAnaf(c, now)) usable.push(c.commonName);
          if (!c.signature) continue; // encryption-only certificates are not candidates: no noise about them
          const warnings = certificateWarnings(c, now);
          findings.push({
            check: CHECK,
            subject: `${c.commonName} [${c.serialHex}] (${s.location})`,
            status: warnings.length ? 'warn' : 'ok',
            message: `valid until ${c.notAfter.slice(0, 10)}; private key ${c.privateKey}${warnings.length ? `; ${warnings.join(', ')}` : ''}`,
            ...(warnings.length
              ? {
                  advice: {
                    ro: warnings.map((w) => CERTIFICATE_WARNING_TEXT[w].ro).join('; '),
                    en: warnings.map((w) => CERTIFICATE_WARNING_TEXT[w].en).join('; '),
                  },
                }
              : {}),
          });
        }
      }
      if (stores.some((s) => !s.error)) {
        findings.push(
          usable.length
            ? {
                check: CHECK,
                status: 'ok',
                message: `the browser will offer ${[...new Set(usable)].join(', ')} at the ANAF login, whatever the PKCS#11 listing shows`,
              }
            : {
                check: CHECK,
                status: 'info',
                message: "no usable certificate in the browser's own store; the browser will offer only a USB token's (see the pkcs11 check)",
              },
        );
      }
      return findings;
    },
  };
}

export const browserStoreCheck: Check = makeBrowserStoreCheck();
