/** `profile add|list|remove`: ANAF application registrations. */
import type { Command } from 'commander';
import { AppError } from '#shared/errors.js';
import { DEFAULT_REFRESH_WINDOW_DAYS, profileInputSchema } from '#shared/schemas/profile.js';
import { checkApiBase } from '../../gateway/target.js';
import { setProfileApi } from '../../gateway/cli-support.js';
import { action, jsonOption, withApp } from '../context.js';
import { printJson } from '../output.js';
import { readSecret } from '../secret-input.js';

export function register(program: Command): void {
  const profile = program.command('profile').description('ANAF application registrations (client id, secret, callback URL)');

  profile
    .command('add')
    .description('add a profile; the client secret is read from standard input or a prompt')
    .requiredOption('--name <name>', 'profile name')
    .requiredOption('--client-id <id>', "client ID from ANAF's portal")
    .requiredOption('--redirect-uri <url>', 'https callback URL registered at ANAF, exactly')
    .option('--env <env>', 'prod, test, or the https base URL of another OAuth server', 'prod')
    .option('--refresh-window <days>', 'refresh when the access token has fewer days left', String(DEFAULT_REFRESH_WINDOW_DAYS))
    .option(
      '--api <url>',
      'e-Factura / e-Transport API base: prod, test, or an https URL standing for https://api.anaf.ro/{prod|test} (default: follows --env)',
    )
    .addOption(jsonOption())
    .action(
      action(async (opts: { name: string; clientId: string; redirectUri: string; env: string; refreshWindow: string; api?: string; json?: boolean }) => {
        if (opts.api !== undefined) checkApiBase(opts.api);
        const clientSecret = await readSecret();
        const parsed = profileInputSchema().safeParse({
          name: opts.name,
          clientId: opts.clientId,
          redirectUri: opts.redirectUri,
          env: opts.env,
          refreshWindowDays: Number(opts.refreshWindow),
          clientSecret,
        });
        if (!parsed.success) {
          const i = parsed.error.issues[0];
          throw new AppError('PROFILE_INVALID', `${i?.path.join('.')}: ${i?.message}`);
        }
        await withApp(async (app) => {
          const { profile: p } = await app.store.saveProfile(parsed.data, 'create');
          if (opts.api !== undefined) await setProfileApi(app, p.name, opts.api);
          app.log.log('info', 'profile.added', { profile: p.name });
          if (opts.json) printJson(p);
          else process.stdout.write(`profile "${p.name}" added / profil adăugat\n`);
        });
      }),
    );

  profile
    .command('list')
    .description('list profiles (never the secret)')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withApp(async (app) => {
          const list = await app.store.listProfiles();
          if (opts.json) printJson(list);
          else if (!list.length) process.stdout.write('No profiles. / Niciun profil.\n');
          else for (const p of list) process.stdout.write(`${p.name}\t${p.clientId}\t${p.redirectUri}\t${p.env}\n`);
        }),
      ),
    );

  profile
    .command('remove')
    .description("remove a profile and its stored tokens from this computer (ending them at ANAF is done in ANAF's portal)")
    .requiredOption('--name <name>', 'profile name')
    .addOption(jsonOption())
    .action(
      action((opts: { name: string; json?: boolean }) =>
        withApp(async (app) => {
          if (!(await app.store.removeProfile(opts.name))) throw new AppError('PROFILE_NOT_FOUND', opts.name);
          app.log.log('info', 'profile.removed', { profile: opts.name });
          if (opts.json) printJson({ removed: opts.name });
          else process.stdout.write(`profile "${opts.name}" removed / profil șters\n`);
        }),
      ),
    );
}
