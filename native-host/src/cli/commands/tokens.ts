/** `list`, `token`, `refresh`, `revoke`: the life of a stored token. */
import type { Command } from 'commander';
import { AppError } from '../../../../shared/src/errors.js';
import { refreshProfile, revokeProfile, validAccessToken } from '../../tokens/refresh.js';
import { allStatuses, statusOf } from '../../tokens/statuses.js';
import { action, jsonOption, profileOption, withApp } from '../context.js';
import { printJson, statusTable } from '../output.js';

export function register(program: Command): void {
  program
    .command('list')
    .description('profiles with token status (never prints a token)')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withApp((app) => {
          const statuses = allStatuses(app);
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
          await refreshProfile(app.tokenDeps, opts.profile, { force: true });
          const s = statusOf(app, opts.profile);
          if (opts.json) printJson(s);
          else process.stdout.write(statusTable([s]));
        }),
      ),
    );

  program
    .command('label')
    .description('name the certificate that authenticated, when ANAF\'s token does not say (shown by list and the popup)')
    .addOption(profileOption())
    .requiredOption('--certificate <text>', 'e.g. "POPESCU ION, certSIGN token"')
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; certificate: string; json?: boolean }) =>
        withApp((app) => {
          const label = opts.certificate.trim().slice(0, 128);
          if (!label) throw new AppError('BAD_REQUEST', '--certificate is empty');
          app.vault.setCertificateLabel(opts.profile, label);
          if (opts.json) printJson(statusOf(app, opts.profile));
          else process.stdout.write(statusTable([statusOf(app, opts.profile)]));
        }),
      ),
    );

  program
    .command('revoke')
    .description('revoke the tokens at ANAF and forget them')
    .addOption(profileOption())
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; json?: boolean }) =>
        withApp(async (app) => {
          await revokeProfile(app.tokenDeps, opts.profile);
          if (opts.json) printJson(statusOf(app, opts.profile));
          else process.stdout.write(`tokens of "${opts.profile}" revoked / tokenuri revocate\n`);
        }),
      ),
    );
}
