/**
 * The USB token: a PKCS#11 driver installed, a token present, and on it a signature certificate
 * that ANAF can accept (valid, not expiring within 30 days, with its key).
 */
import { CERTIFICATE_WARNING_TEXT, certificateWarnings, usableForAnaf } from '../../../shared/src/certificate-warnings.js';
import { readConfig } from '../config/host-config.js';
import { scanModules } from '../pkcs11/scan.js';
import type { Check, Finding } from './check.js';

export const pkcs11Check: Check = {
  id: 'pkcs11',
  async run(ctx) {
    let configured: string[] = [];
    try {
      configured = readConfig(ctx.paths).pkcs11Modules;
    } catch {
      /* the config check is the vault/native-host checks' business */
    }
    let reports;
    try {
      reports = await scanModules(undefined, configured);
    } catch {
      return [
        {
          check: 'pkcs11',
          status: 'fail',
          message: 'no PKCS#11 driver found in the known places',
          advice: {
            ro: 'Instalați programul cheii USB de la furnizorul certificatului (SafeNet Authentication Client, Bit4id, ...). Dacă driverul e în alt loc, adăugați calea în "pkcs11Modules" din config.json. Pe Remote Desktop, activați redirecționarea smart card.',
            en: 'Install the USB token software from your certificate provider (SafeNet Authentication Client, Bit4id, ...). If the driver is elsewhere, add its path to "pkcs11Modules" in config.json. Over Remote Desktop, turn smart-card redirection on.',
          },
        },
      ];
    }
    const findings: Finding[] = [];
    const now = ctx.now();
    let usable = 0;
    for (const m of reports) {
      if (m.error) {
        findings.push({ check: 'pkcs11', subject: m.path, status: 'warn', message: `${m.error.code}${m.error.detail ? `: ${m.error.detail}` : ''}`, advice: { ro: m.error.message.ro, en: m.error.message.en } });
        continue;
      }
      for (const t of m.tokens.filter((x) => x.present && x.initialized !== false)) {
        const subject = `${t.label ?? t.slotDescription} (${m.path})`;
        if (t.error) {
          findings.push({ check: 'pkcs11', subject, status: 'warn', message: t.error.code, advice: { ro: t.error.message.ro, en: t.error.message.en } });
          continue;
        }
        if (t.pin?.locked || t.pin?.finalTry) {
          findings.push({
            check: 'pkcs11',
            subject,
            status: t.pin.locked ? 'fail' : 'warn',
            message: t.pin.locked ? 'the PIN is locked' : 'one PIN try left before the token locks',
            advice: { ro: 'Deblocați PIN-ul cu PUK-ul sau cereți ajutorul furnizorului certificatului.', en: 'Unlock the PIN with the PUK or ask your certificate provider.' },
          });
        }
        for (const c of t.certificates) {
          const warnings = certificateWarnings(c, now);
          if (usableForAnaf(c, now)) usable++;
          if (!c.signature) continue; // CA and encryption certificates are not candidates: no noise about them
          findings.push({
            check: 'pkcs11',
            subject: `${c.commonName} [${c.serialHex}]`,
            // One bad certificate beside a good one is a warning (do not pick it); none good is the failure below.
            status: warnings.length ? 'warn' : 'ok',
            message: `valid until ${c.notAfter.slice(0, 10)}${warnings.length ? `; ${warnings.join(', ')}` : ''}`,
            ...(warnings.length
              ? { advice: { ro: warnings.map((w) => CERTIFICATE_WARNING_TEXT[w].ro).join('; '), en: warnings.map((w) => CERTIFICATE_WARNING_TEXT[w].en).join('; ') } }
              : {}),
          });
        }
      }
    }
    if (usable === 0) {
      findings.push({
        check: 'pkcs11',
        status: 'fail',
        message: 'no token with a usable signature certificate is present',
        advice: {
          ro: 'Introduceți cheia USB cu certificatul calificat înrolat în SPV. Dacă e introdusă, verificați driverul ("anaf-token certs").',
          en: 'Plug in the USB token with the qualified certificate enrolled in SPV. If it is plugged in, check the driver ("anaf-token certs").',
        },
      });
    }
    return findings;
  },
};
