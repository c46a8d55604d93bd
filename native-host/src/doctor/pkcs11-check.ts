/**
 * The USB token: a PKCS#11 driver installed, a token present, and on it a signature certificate
 * that ANAF can accept (valid, not expiring within 30 days, with its key).
 *
 * The key is needed only to authorize (a new token); refreshing and using tokens need none, so
 * an unplugged key, a missing driver or no usable certificate is information, not a failure.
 * It is a warning only while a profile needs a new authorization now (no token, or a dead one).
 */
import { CERTIFICATE_WARNING_TEXT, certificateWarnings, usableForAnaf } from '#shared/certificate-warnings.js';
import { browserStoresOnce } from '../certstores/browser-stores.js';
import { readConfig } from '../config/host-config.js';
import { scanModules } from '../pkcs11/scan.js';
import { tokenState } from '../tokens/status.js';
import type { Bilingual, Check, CheckStatus, DoctorContext, Finding } from './check.js';
import { storeOrNothing } from './check.js';

const CHECK = 'pkcs11';

export const KEY_ONLY_TO_AUTHORIZE: Bilingual = {
  ro: 'Cheia USB este necesară doar pentru o nouă autorizare (un token nou); reîmprospătarea și folosirea tokenului nu au nevoie de ea.',
  en: 'The USB key is only needed to authorize again (a new token); refreshing and using the token do not need it.',
};

/** Profiles that need the USB key now: no token yet, or a dead one. */
async function profilesNeedingKey(ctx: DoctorContext): Promise<string[]> {
  const vault = await storeOrNothing(ctx);
  if (!vault) return [];
  const tokens = await vault.allTokens();
  const now = ctx.now();
  return (await vault.listProfiles()).flatMap((p) => {
    const s = tokenState(p, tokens.get(p.name), now);
    return s === 'none' || s === 'dead' ? [p.name] : [];
  });
}

/** A missing key or driver: information, or a warning with the profiles that need the key now. */
function keyAbsent(needing: string[], what: string, todo: Bilingual): Finding {
  const status: CheckStatus = needing.length ? 'warn' : 'info';
  const list = needing.map((n) => `"${n}"`).join(', ');
  const advice: Bilingual = needing.length
    ? needing.length === 1
      ? {
          ro: `Profilul ${list} are nevoie acum de o autorizare cu cheia USB: ${todo.ro}`,
          en: `Profile ${list} needs an authorization with the USB key now: ${todo.en}`,
        }
      : {
          ro: `Profilele ${list} au nevoie acum de o autorizare cu cheia USB: ${todo.ro}`,
          en: `Profiles ${list} need an authorization with the USB key now: ${todo.en}`,
        }
    : { ro: `${KEY_ONLY_TO_AUTHORIZE.ro} Pentru o nouă autorizare: ${todo.ro}`, en: `${KEY_ONLY_TO_AUTHORIZE.en} To authorize again: ${todo.en}` };
  return { check: CHECK, status, message: `${what}; the USB key is only needed to authorize again`, advice };
}

export interface Pkcs11CheckOptions {
  /** How drivers are found and read (tests replace it). */
  scan?: typeof scanModules;
  /** Holders of the usable certificates in the browser's own store (tests replace it). */
  inBrowserStore?: (ctx: DoctorContext) => Promise<string[]>;
}

/** The browser's own store (see browser-store-check.ts), read once per run; a store that fails counts for nothing. */
async function usableInBrowserStore(ctx: DoctorContext): Promise<string[]> {
  try {
    const stores = await browserStoresOnce(ctx, { platform: ctx.platform, home: ctx.home });
    const now = ctx.now();
    return [
      ...new Set(
        stores
          .flatMap((s) => s.certificates)
          .filter((c) => usableForAnaf(c, now))
          .map((c) => c.commonName),
      ),
    ];
  } catch {
    return [];
  }
}

/**
 * No token with a usable certificate through PKCS#11, but the browser's store has one (Windows,
 * where the token's minidriver puts it there; or a certificate imported into the browser): the
 * login at ANAF can work, so this is information, never a warning.
 */
function inStoreInstead(holders: string[], what: string): Finding {
  return {
    check: CHECK,
    status: 'info',
    message: `${what}; the browser will offer ${holders.join(', ')} from its own certificate store (see the browser-certs check)`,
  };
}

export function makePkcs11Check(opts: Pkcs11CheckOptions = {}): Check {
  const scan = opts.scan ?? scanModules;
  const inBrowserStore = opts.inBrowserStore ?? usableInBrowserStore;
  return {
    id: CHECK,
    async run(ctx) {
      let configured: string[] = [];
      try {
        configured = readConfig(ctx.paths).pkcs11Modules;
      } catch {
        /* the config check is the vault/native-host checks' business */
      }
      let reports;
      try {
        reports = await scan(undefined, configured);
      } catch {
        const holders = await inBrowserStore(ctx);
        if (holders.length) return [inStoreInstead(holders, 'no PKCS#11 driver found in the known places')];
        return [
          keyAbsent(await profilesNeedingKey(ctx), 'no PKCS#11 driver found in the known places', {
            ro: 'instalați programul cheii USB de la furnizorul certificatului (SafeNet Authentication Client, Bit4id, ...). Dacă driverul e în alt loc, adăugați calea în "pkcs11Modules" din config.json. Pe Remote Desktop, activați redirecționarea smart card.',
            en: 'install the USB token software from your certificate provider (SafeNet Authentication Client, Bit4id, ...). If the driver is elsewhere, add its path to "pkcs11Modules" in config.json. Over Remote Desktop, turn smart-card redirection on.',
          }),
        ];
      }
      const findings: Finding[] = [];
      const now = ctx.now();
      let usable = 0;
      for (const m of reports) {
        if (m.error) {
          findings.push({
            check: CHECK,
            subject: m.path,
            status: 'warn',
            message: `${m.error.code}${m.error.detail ? `: ${m.error.detail}` : ''}`,
            advice: { ro: m.error.message.ro, en: m.error.message.en },
          });
          continue;
        }
        for (const t of m.tokens.filter((x) => x.present && x.initialized !== false)) {
          const subject = `${t.label ?? t.slotDescription} (${m.path})`;
          if (t.error) {
            findings.push({ check: CHECK, subject, status: 'warn', message: t.error.code, advice: { ro: t.error.message.ro, en: t.error.message.en } });
            continue;
          }
          if (t.pin?.locked || t.pin?.finalTry) {
            // A locked PIN stops the next authorization, not the tokens already obtained.
            findings.push({
              check: CHECK,
              subject,
              status: 'warn',
              message: t.pin.locked ? 'the PIN is locked' : 'one PIN try left before the token locks',
              advice: {
                ro: 'Deblocați PIN-ul cu PUK-ul sau cereți ajutorul furnizorului certificatului.',
                en: 'Unlock the PIN with the PUK or ask your certificate provider.',
              },
            });
          }
          for (const c of t.certificates) {
            const warnings = certificateWarnings(c, now);
            if (usableForAnaf(c, now)) usable++;
            if (!c.signature) continue; // CA and encryption certificates are not candidates: no noise about them
            findings.push({
              check: CHECK,
              subject: `${c.commonName} [${c.serialHex}]`,
              // One bad certificate beside a good one is a warning (do not pick it); none good is the finding below.
              status: warnings.length ? 'warn' : 'ok',
              message: `valid until ${c.notAfter.slice(0, 10)}${warnings.length ? `; ${warnings.join(', ')}` : ''}`,
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
      }
      const holders = usable === 0 ? await inBrowserStore(ctx) : [];
      if (usable === 0 && holders.length) findings.push(inStoreInstead(holders, 'no USB key with a usable signature certificate was read through PKCS#11'));
      else if (usable === 0) {
        findings.push(
          keyAbsent(await profilesNeedingKey(ctx), 'no USB key with a usable signature certificate is plugged in', {
            ro: 'introduceți cheia USB cu certificatul calificat înrolat în SPV. Dacă e introdusă, verificați driverul ("anaf-token certs").',
            en: 'plug in the USB token with the qualified certificate enrolled in SPV. If it is plugged in, check the driver ("anaf-token certs").',
          }),
        );
      }
      return findings;
    },
  };
}

export const pkcs11Check: Check = makePkcs11Check();
