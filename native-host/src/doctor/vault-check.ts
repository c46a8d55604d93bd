/** The data folder, the vault and its key: present, private, and opening every sealed value. */
import fs from 'node:fs';
import { AppError, messagesFor } from '../../../shared/src/errors.js';
import type { KeyStoreKind } from '../vault/key-store.js';
import type { Check, DoctorContext, Finding } from './check.js';

/** Where the vault key is, as the user can look for it. */
const KEY_PLACE: Record<KeyStoreKind, (keyFile: string) => string> = {
  file: (f) => `in the file ${f}`,
  dpapi: (f) => `in ${f}, wrapped by Windows (DPAPI) for this user`,
  keychain: () => 'in the OS keychain',
};

const CHECK = 'vault';

/** Group or others can read it (POSIX only; Windows uses ACLs on the per-user folder). */
function tooOpen(ctx: DoctorContext, file: string): boolean {
  return ctx.platform !== 'win32' && fs.existsSync(file) && (fs.statSync(file).mode & 0o077) !== 0;
}

const advise = (code: AppError['code']) => {
  const m = messagesFor(code);
  return { ro: m.ro, en: m.en };
};

function vaultFailure(ctx: DoctorContext): AppError | undefined {
  try {
    ctx.vault()?.checkKey(); // the vault proves its key at first use; the doctor asks at once
    return undefined;
  } catch (e) {
    return AppError.from(e, 'VAULT_ERROR', (x) => x.message);
  }
}

export const vaultCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const { paths } = ctx;
    if (!fs.existsSync(paths.vaultFile)) {
      return [
        {
          check: CHECK,
          status: 'warn',
          message: `no vault yet at ${paths.vaultFile}`,
          advice: {
            ro: 'Nimic configurat încă: adăugați un profil ("anaf-token profile add" sau din extensie). Dacă ați folosit alt dosar de date, setați ANAF_TOKEN_HOME.',
            en: 'Nothing set up yet: add a profile ("anaf-token profile add" or from the extension). If you used another data folder, set ANAF_TOKEN_HOME.',
          },
        },
      ];
    }
    const findings: Finding[] = [];
    const open = [paths.dataDir, paths.vaultFile, paths.keyFile].filter((f) => tooOpen(ctx, f));
    if (open.length) {
      findings.push({
        check: CHECK,
        subject: 'permissions',
        status: 'warn',
        message: `readable by other users: ${open.join(', ')}`,
        advice: { ro: `Rulați: chmod go-rwx ${open.map((f) => `"${f}"`).join(' ')}`, en: `Run: chmod go-rwx ${open.map((f) => `"${f}"`).join(' ')}` },
      });
    }
    const failure = vaultFailure(ctx);
    const vault = failure ? undefined : ctx.vault();
    if (!vault) {
      const err = failure ?? new AppError('VAULT_ERROR');
      findings.push({ check: CHECK, status: 'fail', message: `the vault does not open: ${err.code}${err.detail ? ` (${err.detail})` : ''}`, advice: advise(err.code) });
      return findings;
    }
    // The key check in the vault proves the key; opening each secret proves the rows too.
    const before = findings.length;
    for (const p of vault.listProfiles()) {
      try {
        vault.clientSecret(p.name);
      } catch (e) {
        const err = AppError.from(e, 'VAULT_ERROR');
        findings.push({ check: CHECK, subject: p.name, status: 'fail', message: `the client secret of profile "${p.name}" does not open: ${err.code}`, advice: advise(err.code) });
      }
    }
    if (findings.length > before) return findings;
    findings.push({ check: CHECK, status: 'ok', message: `${paths.vaultFile} opens; key ${KEY_PLACE[vault.keyStore](paths.keyFile)}` });
    return findings;
  },
};
