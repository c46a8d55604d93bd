/** `store use|status|migrate`: where profiles and tokens live (this user's vault, or a team store on PostgreSQL). */
import { Option, type Command } from 'commander';
import { AppError } from '#shared/errors.js';
import { readConfig, writeConfig } from '../../config/host-config.js';
import type { TeamStore } from '../../team/team-store.js';
import { shownUrl, storeLocation } from '../../store/open-store.js';
import { urlSecrets } from '../../store/url-secrets.js';
import { action, jsonOption, makeApp, withApp } from '../context.js';
import { printJson } from '../output.js';
import { readSecret } from '../secret-input.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//;

export function register(program: Command): void {
  const store = program
    .command('store')
    .description("where profiles and tokens live: this user's vault, or a team store on PostgreSQL shared by several machines");

  store
    .command('use')
    .description(
      'use a team store: the postgres:// URL is read from standard input or a prompt (it may carry a password); "local" goes back to this user\'s vault',
    )
    .argument('[where]', '"local", or a postgres:// URL without a password')
    .addOption(jsonOption())
    .action(
      action(async (where: string | undefined, opts: { json?: boolean }) => {
        const app = makeApp('cli');
        try {
          let url: string | undefined;
          if (where === 'local') url = undefined;
          else if (where === undefined) url = await readSecret('PostgreSQL URL (nu se afișează / not shown): ', 'BAD_REQUEST');
          else url = where;
          if (url !== undefined) {
            if (!POSTGRES_URL.test(url) || !URL.canParse(url)) throw new AppError('BAD_REQUEST', 'a postgres://user@host:port/database URL');
            // The command line is visible to every user of the computer: a password goes through standard input.
            if (where !== undefined && urlSecrets(url).length > 0) {
              throw new AppError(
                'BAD_REQUEST',
                'a URL with a password is read from standard input or the prompt: run "anaf-token store use" and paste it (the command line is visible to other users)',
              );
            }
            // Reachable, and whose team it holds (a store without a team is fine: "team init" makes one).
            const { TeamStore } = await import('../../team/team-store.js');
            let team: string | undefined;
            try {
              const s = await TeamStore.connect({ url });
              team = s.registration.teamId;
              await s.close();
            } catch (e) {
              if (!(e instanceof AppError && e.code === 'TEAM_NOT_SET_UP')) throw e;
            }
            writeConfig(app.paths, { ...readConfig(app.paths), store: url });
            app.log.log('info', 'store.use', { engine: 'postgres', url: shownUrl(url), team });
            if (opts.json) return printJson({ engine: 'postgres', url: shownUrl(url), teamId: team ?? null });
            process.stdout.write(
              team
                ? `Magazinul de echipă ${shownUrl(url)} (echipa ${team}). Dacă acest calculator nu are încă cheia echipei: "anaf-token team join". / Team store ${shownUrl(url)} (team ${team}). If this machine has no team key yet: "anaf-token team join".\n`
                : `Magazinul de echipă ${shownUrl(url)} nu are încă o echipă: "anaf-token team init". / The team store ${shownUrl(url)} has no team yet: "anaf-token team init".\n`,
            );
          } else {
            const { store: _, ...rest } = readConfig(app.paths);
            writeConfig(app.paths, rest);
            app.log.log('info', 'store.use', { engine: 'sqlite' });
            if (opts.json) return printJson({ engine: 'sqlite' });
            process.stdout.write("Seiful local al acestui utilizator. / This user's local vault.\n");
          }
          if (storeLocation(app.paths).engine === 'postgres' && process.env.ANAF_TOKEN_STORE) {
            process.stderr.write('ANAF_TOKEN_STORE is set in this environment and takes precedence over this choice.\n');
          }
        } finally {
          await app.close();
        }
      }),
    );

  store
    .command('status')
    .description('which store is in use, and whether it opens here')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withApp(async (app) => {
          const where = app.location();
          await app.store.checkKey();
          const profiles = (await app.store.listProfiles()).length;
          const tokens = (await app.store.allTokens()).size;
          const status =
            where.engine === 'sqlite'
              ? { engine: 'sqlite' as const, file: app.paths.vaultFile, profiles, tokens }
              : await teamStatusOf(app, where.url, where.from, profiles, tokens);
          if (opts.json) return printJson(status);
          for (const [k, v] of Object.entries(status)) process.stdout.write(`${k.padEnd(10)} ${String(v)}\n`);
        }),
      ),
    );

  store
    .command('migrate')
    .description(
      'move every profile, token and client key to another store (a postgres:// URL read from standard input, or "local"); the source keeps no usable token',
    )
    .requiredOption('--to <where>', '"local", or "postgres" (the URL is then read from standard input or a prompt)')
    .addOption(new Option('--use', 'then use the destination (default: yes)').default(true))
    .addOption(jsonOption())
    .action(
      action((opts: { to: string; use: boolean; json?: boolean }) =>
        withApp(async (app) => {
          const { migrateStore } = await import('../../store/migrate.js');
          const to = opts.to === 'local' ? ({ engine: 'sqlite' } as const) : opts.to === 'postgres' ? undefined : false;
          if (to === false) throw new AppError('BAD_REQUEST', '--to local, or --to postgres with the URL on standard input');
          const url = to === undefined ? await readSecret('PostgreSQL URL (nu se afișează / not shown): ', 'BAD_REQUEST') : undefined;
          if (url !== undefined && !POSTGRES_URL.test(url)) throw new AppError('BAD_REQUEST', 'a postgres:// URL');
          const report = await migrateStore(app, url === undefined ? { engine: 'sqlite' } : { engine: 'postgres', url, from: 'config' });
          if (opts.use) {
            const config = readConfig(app.paths);
            if (url === undefined) {
              const { store: _, ...rest } = config;
              writeConfig(app.paths, rest);
            } else writeConfig(app.paths, { ...config, store: url });
          }
          app.log.log('info', 'store.migrated', {
            profiles: report.profiles,
            tokens: report.tokens,
            clients: report.clients,
            audit: report.audit,
            to: url === undefined ? 'sqlite' : shownUrl(url),
          });
          if (opts.json) return printJson(report);
          process.stdout.write(
            `Mutate / moved: ${report.profiles} profiles, ${report.tokens} tokens, ${report.clients} client keys, ${report.audit} audit rows.\n` +
              (opts.use ? 'Acest calculator folosește acum destinația. / This machine now uses the destination.\n' : ''),
          );
        }),
      ),
    );
}

async function teamStatusOf(app: ReturnType<typeof makeApp>, url: string, from: string, profiles: number, tokens: number) {
  const { readTeamKey } = await import('../../team/team-key.js');
  const store = app.store as TeamStore;
  const held = readTeamKey({ paths: app.paths });
  return {
    engine: 'postgres' as const,
    url: shownUrl(url),
    from,
    teamId: store.registration.teamId,
    keyStore: held.state === 'held' ? held.keyStore : held.state,
    fingerprint: held.state === 'held' ? held.fingerprint : null,
    listening: store.listening,
    profiles,
    tokens,
  };
}
