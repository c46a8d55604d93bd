/** `list`, `token`, `refresh`, `revoke`: the life of a stored token. */
import os from 'node:os';
import type { Command } from 'commander';
import { AppError } from '#shared/errors.js';
import type { App } from '../../app.js';
import { validAccessToken, type TokenGrant } from '../../tokens/grant.js';
import { allStatuses, statusOf } from '../../tokens/statuses.js';
import { action, jsonOption, profileOption, withApp } from '../context.js';
import { printJson, statusTable } from '../output.js';

const REVOKE_CONFIRMED = (p: string) =>
  `Tokenurile profilului "${p}" au fost revocate la ANAF și șterse de aici.\nThe tokens of "${p}" were revoked at ANAF and forgotten here.\n`;

/** ANAF offers no revocation without a browser login: say so, and where the real remedy is. */
const REVOKE_UNCONFIRMED = (p: string, detail: string | undefined) =>
  `Tokenurile profilului "${p}" au fost șterse de aici. ANAF NU a confirmat revocarea${detail ? ` (${detail})` : ''}.\n` +
  'Ca să le încheiați și la ANAF: în portalul ANAF (pfinternet.anaf.ro, „Editare profil OAuth”) ștergeți aplicația sau folosiți „Renunțare OAuth”, apoi regenerați client secret și actualizați profilul.\n' +
  `The tokens of "${p}" were forgotten here. ANAF did NOT confirm the revocation.\n` +
  'To end them at ANAF too: in ANAF\'s portal (pfinternet.anaf.ro, "Editare profil OAuth") delete the application or use "Renunțare OAuth", then regenerate the client secret and update the profile.\n';

/**
 * A script may run \`token\` for every call it makes: the audit gets a row when this machine's
 * user gets a generation it was not recorded with yet. Never fails the command.
 */
async function auditCliHandOut(app: App, t: TokenGrant): Promise<void> {
  const host = os.hostname();
  const osUser = os.userInfo().username;
  try {
    const [last] = await app.store.audit({ profile: t.profile, client: 'cli', limit: 1 });
    if (last && last.generation === t.generation && last.host === host && last.osUser === osUser) return;
    await app.store.recordAudit({ at: app.now(), profile: t.profile, client: 'cli', generation: t.generation, host, osUser, action: 'token' });
  } catch (e) {
    app.log.log('warn', 'audit.not-written', { error: e instanceof Error ? e.name : 'unknown' });
  }
}

export function register(program: Command): void {
  program
    .command('list')
    .description('profiles with token status (never prints a token)')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withApp(async (app) => {
          const statuses = await allStatuses(app.store, app.now());
          if (opts.json) printJson(statuses);
          else process.stdout.write(statusTable(statuses));
        }),
      ),
    );

  program
    .command('token')
    .description('print a valid access token, refreshing it first when due')
    .addOption(profileOption())
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; json?: boolean }) =>
        withApp(async (app) => {
          const t = await validAccessToken(app.tokenDeps, opts.profile);
          app.log.log('info', 'token.served', { profile: opts.profile, to: 'cli' });
          await auditCliHandOut(app, t);
          if (opts.json) printJson({ profile: opts.profile, accessToken: t.accessToken, expiresAt: new Date(t.expiresAt).toISOString() });
          else process.stdout.write(`${t.accessToken}\n`);
        }),
      ),
    );

  program
    .command('refresh')
    .description('refresh the token now (no USB key needed)')
    .addOption(profileOption())
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; json?: boolean }) =>
        withApp(async (app) => {
          // Imported here: `token`, run by scripts many times a day, needs no ANAF client.
          const { refreshProfile } = await import('../../tokens/refresh.js');
          await refreshProfile(app.tokenDeps, opts.profile, { force: true });
          const s = await statusOf(app.store, opts.profile, app.now());
          if (opts.json) printJson(s);
          else process.stdout.write(statusTable([s]));
        }),
      ),
    );

  program
    .command('label')
    .description("name the certificate that authenticated, when ANAF's token does not say (shown by list and the popup)")
    .addOption(profileOption())
    .requiredOption('--certificate <text>', 'e.g. "POPESCU ION, certSIGN token"')
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; certificate: string; json?: boolean }) =>
        withApp(async (app) => {
          const label = opts.certificate.trim().slice(0, 128);
          if (!label) throw new AppError('BAD_REQUEST', '--certificate is empty');
          await app.store.setCertificateLabel(opts.profile, label);
          const s = await statusOf(app.store, opts.profile, app.now());
          if (opts.json) printJson(s);
          else process.stdout.write(statusTable([s]));
        }),
      ),
    );

  program
    .command('revoke')
    .description("forget the tokens here, after one try at ANAF's revoke endpoint; says whether ANAF confirmed")
    .addOption(profileOption())
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; json?: boolean }) =>
        withApp(async (app) => {
          const { revokeProfile } = await import('../../tokens/revoke.js');
          const outcome = await revokeProfile(app.tokenDeps, opts.profile);
          if (opts.json) return printJson({ ...outcome, status: await statusOf(app.store, opts.profile, app.now()) });
          process.stdout.write(outcome.anafConfirmed ? REVOKE_CONFIRMED(opts.profile) : REVOKE_UNCONFIRMED(opts.profile, outcome.anafDetail));
        }),
      ),
    );
}
