/** The store: the vault and its key (present, private, opening every sealed value), or the team store (reachable, opened by this machine's team key). */
import fs from 'node:fs';
import { AppError, messagesFor } from '#shared/errors.js';
import { shownUrl } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { TeamStore } from '../team/team-store.js';
import type { KeyStoreKind } from '../vault/key-store.js';
import type { Vault } from '../vault/vault.js';
import type { Check, DoctorContext, Finding } from './check.js';

/** Where the vault key is, as the user can look for it. */
const KEY_PLACE: Record<KeyStoreKind, (keyFile: string) => string> = {
  file: (f) => `in the file ${f}`,
  dpapi: (f) => `in ${f}, wrapped by Windows (DPAPI) for this user`,
  keychain: () => 'in the OS keychain',
};

const CHECK = 'vault';
const TEAM_CHECK = 'team-store';

/** Group or others can read it (POSIX only; Windows uses ACLs on the per-user folder). */
function tooOpen(ctx: DoctorContext, file: string): boolean {
  return ctx.platform !== 'win32' && fs.existsSync(file) && (fs.statSync(file).mode & 0o077) !== 0;
}

const advise = (code: AppError['code']) => {
  const m = messagesFor(code);
  return { ro: m.ro, en: m.en };
};

async function storeFailure(ctx: DoctorContext, fallback: AppError['code']): Promise<AppError | undefined> {
  try {
    await (await ctx.store())?.checkKey(); // a store proves its key at first use; the doctor asks at once
    return undefined;
  } catch (e) {
    return AppError.from(e, fallback, (x) => x.message);
  }
}

/** Every profile's secret opens (the key check proves the key; this proves the rows). */
async function unopened(ctx: DoctorContext, store: Store, check: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const p of await store.listProfiles()) {
    try {
      await store.clientSecret(p.name);
    } catch (e) {
      const err = AppError.from(e, 'VAULT_ERROR');
      findings.push({
        check,
        subject: p.name,
        status: 'fail',
        message: `the client secret of profile "${p.name}" does not open: ${err.code}`,
        advice: advise(err.code),
      });
    }
  }
  return findings;
}

/** A team store: reachable, this machine's team key opens it, and its change feed listens. */
async function teamStoreFindings(ctx: DoctorContext, url: string): Promise<Finding[]> {
  const failure = await storeFailure(ctx, 'STORE_ERROR');
  if (failure) {
    return [
      {
        check: TEAM_CHECK,
        status: 'fail',
        message: `the team store ${shownUrl(url)} does not open here: ${failure.code}${failure.detail ? ` (${failure.detail})` : ''}`,
        advice: advise(failure.code),
      },
    ];
  }
  const store = (await ctx.store()) as TeamStore;
  const bad = await unopened(ctx, store, TEAM_CHECK);
  if (bad.length) return bad;
  const listening = store.listening;
  return [
    {
      check: TEAM_CHECK,
      status: listening ? 'ok' : 'warn',
      message: `team store ${shownUrl(url)}, team ${store.registration.teamId}: this machine's key opens it${listening ? '' : '; its change feed (LISTEN) is not connected'}`,
      ...(listening
        ? {}
        : {
            advice: {
              ro: 'Fără LISTEN, serviciile nu află imediat de schimbările altor calculatoare. Conectați-vă direct la PostgreSQL (nu prin PgBouncer în mod tranzacție).',
              en: "Without LISTEN, services do not hear of other machines' changes at once. Connect to PostgreSQL directly (not through PgBouncer in transaction mode).",
            },
          }),
    },
  ];
}

export const vaultCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const where = ctx.location();
    if (where.engine === 'postgres') return teamStoreFindings(ctx, where.url);
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
    const failure = await storeFailure(ctx, 'VAULT_ERROR');
    const vault = failure ? undefined : ((await ctx.store()) as Vault | undefined);
    if (!vault) {
      const err = failure ?? new AppError('VAULT_ERROR');
      findings.push({
        check: CHECK,
        status: 'fail',
        message: `the vault does not open: ${err.code}${err.detail ? ` (${err.detail})` : ''}`,
        advice: advise(err.code),
      });
      return findings;
    }
    const bad = await unopened(ctx, vault, CHECK);
    if (bad.length) return [...findings, ...bad];
    findings.push({ check: CHECK, status: 'ok', message: `${paths.vaultFile} opens; key ${KEY_PLACE[vault.keyStore](paths.keyFile)}` });
    return findings;
  },
};
