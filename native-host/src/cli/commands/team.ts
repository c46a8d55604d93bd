/**
 * `team init|invite|join|status`: the team key that seals every secret in a team store. It is
 * made once, on one machine; each other machine gets it through a one-time invite (the text by
 * mail or chat, the code said by phone). The database never holds it.
 */
import { Option, type Command } from 'commander';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import type { App } from '../../app.js';
import { shownUrl } from '../../store/open-store.js';
import type { TeamStore } from '../../team/team-store.js';
import { action, jsonOption, makeApp, parseWith } from '../context.js';
import { printJson } from '../output.js';
import { readSecrets } from '../secret-input.js';
import { durationSchema } from './serve.js';

const inviteTtlSchema = durationSchema.check(z.refine((ms: number) => ms >= 60_000, 'at least 1m'));

/** The team store this machine is set to use; TEAM_NOT_SET_UP's cousin when it uses the local vault. */
function teamUrl(app: App): string {
  const where = app.location();
  if (where.engine !== 'postgres') {
    throw new AppError('BAD_REQUEST', 'this machine uses its local vault: first "anaf-token store use" with the team store\'s postgres:// URL');
  }
  return where.url;
}

/** The team store opened without this machine's key (init, join, status). */
async function keyless(app: App, register?: Parameters<typeof TeamStore.connect>[0]['register'], url = teamUrl(app)): Promise<TeamStore> {
  const { TeamStore } = await import('../../team/team-store.js');
  return TeamStore.connect({ url, now: app.now, ...(register ? { register } : {}) });
}

async function withTeamApp<T>(fn: (app: App) => Promise<T>): Promise<T> {
  const app = makeApp('cli');
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

export function register(program: Command): void {
  const team = program.command('team').description('the team key that seals the secrets of a team store (never in the database)');

  team
    .command('init')
    .description('make the team key on this machine and record the team in the team store (once per team)')
    .option('--force', "replace a team key this machine already holds (that team's secrets become unreadable here)")
    .addOption(jsonOption())
    .action(
      action((opts: { force?: boolean; json?: boolean }) =>
        withTeamApp(async (app) => {
          const { initTeam } = await import('../../team/team-commands.js');
          // A store that already has a team is joined, not made again: asked before any key is made.
          try {
            const s = await keyless(app);
            const id = s.registration.teamId;
            await s.close();
            throw new AppError('TEAM_KEY_EXISTS', `the team store already holds team ${id}: join it with an invite ("anaf-token team join")`);
          } catch (e) {
            if (!(e instanceof AppError && e.code === 'TEAM_NOT_SET_UP')) throw e;
          }
          const made = initTeam({ paths: app.paths, force: opts.force === true });
          const s = await keyless(app, made.registration);
          const recorded = s.recordedRegistration;
          const teamId = s.registration.teamId;
          await s.close();
          if (!recorded && teamId !== made.teamId) throw new AppError('TEAM_KEY_EXISTS', `another machine recorded team ${teamId} meanwhile: join it`);
          app.log.log('info', 'team.init', { teamId: made.teamId, keyStore: made.keyStore });
          if (opts.json) return printJson({ teamId: made.teamId, fingerprint: made.fingerprint, keyStore: made.keyStore, url: shownUrl(teamUrl(app)) });
          process.stdout.write(
            `Echipa ${made.teamId} a fost creată; cheia ei (amprenta ${made.fingerprint}) e în ${made.keyStore}. Invitați celelalte calculatoare cu "anaf-token team invite".\n` +
              `Team ${made.teamId} made; its key (fingerprint ${made.fingerprint}) is in the ${made.keyStore}. Invite the other machines with "anaf-token team invite".\n`,
          );
        }),
      ),
    );

  team
    .command('invite')
    .description('a one-time invite for another machine: send the text (mail, chat), say the code by phone')
    .addOption(new Option('--valid <duration>', 'how long it can be used').default(24 * 3_600_000, '24h').argParser(parseWith(inviteTtlSchema, '--valid')))
    .addOption(jsonOption())
    .action(
      action((opts: { valid: number; json?: boolean }) =>
        withTeamApp(async (app) => {
          teamUrl(app);
          await app.ready();
          const store = app.store as TeamStore;
          store.checkKey(); // only a machine whose key opens the store hands it on
          const { createInvite } = await import('../../team/team-commands.js');
          const inv = await createInvite({ paths: app.paths, invites: store, team: store.registration, ttlMs: opts.valid, now: app.now() });
          app.log.log('info', 'team.invite', { inviteId: inv.inviteId, expiresAt: new Date(inv.expiresAt).toISOString() });
          if (opts.json) return printJson({ invite: inv.text, code: inv.code, expiresAt: new Date(inv.expiresAt).toISOString(), teamId: inv.teamId });
          process.stdout.write(`${inv.text}\n`);
          process.stderr.write(
            `Trimiteți textul de mai sus celuilalt calculator (e-mail, chat) și spuneți-i codul la telefon: ${inv.code}\n` +
              `Send the text above to the other machine (mail, chat) and tell its user the code by phone: ${inv.code}\n` +
              `Acolo / There: anaf-token store use, then anaf-token team join (valid until ${new Date(inv.expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC, once)\n`,
          );
        }),
      ),
    );

  team
    .command('join')
    .description(
      'take the team key from an invite; the invite text and the code are read from standard input or prompts (one line each). ' +
        "A machine that still uses its local vault (to migrate it afterwards) is asked the team store's URL first, and keeps using its vault",
    )
    .argument('[invite]', 'the invite text (else read first from standard input or a prompt)')
    .option('--force', "replace another team's key this machine holds")
    .addOption(jsonOption())
    .action(
      action((invite: string | undefined, opts: { force?: boolean; json?: boolean }) =>
        withTeamApp(async (app) => {
          const askUrl = app.location().engine !== 'postgres';
          const prompts = [
            ...(askUrl ? ['PostgreSQL URL (nu se afișează / not shown): '] : []),
            ...(invite === undefined ? ['Invitația / The invite: '] : []),
            'Codul spus la telefon / The code said by phone: ',
          ];
          const answers = await readSecrets(prompts, 'INVITE_INVALID');
          const url = askUrl ? answers.shift()! : teamUrl(app);
          if (!/^postgres(ql)?:\/\//.test(url)) throw new AppError('BAD_REQUEST', 'the team store is named by a postgres:// URL');
          const inviteText = invite ?? answers[0]!;
          const code = answers.at(-1)!;
          const { joinTeam } = await import('../../team/team-commands.js');
          const store = await keyless(app, undefined, url);
          try {
            const r = await joinTeam({
              paths: app.paths,
              inviteText,
              code,
              invites: store,
              team: store.registration,
              force: opts.force === true,
              now: app.now(),
            });
            app.log.log('info', 'team.join', { teamId: r.teamId, status: r.status, keyStore: r.keyStore });
            if (opts.json) return printJson(r);
            process.stdout.write(
              r.status === 'already-member'
                ? `Acest calculator are deja cheia echipei ${r.teamId}. / This machine already holds the key of team ${r.teamId}.\n`
                : `Cheia echipei ${r.teamId} (amprenta ${r.fingerprint}) e acum în ${r.keyStore}. / The key of team ${r.teamId} (fingerprint ${r.fingerprint}) is now in the ${r.keyStore}.\n`,
            );
          } finally {
            await store.close();
          }
        }),
      ),
    );

  team
    .command('status')
    .description("this machine's team key, and whether it opens the team store")
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withTeamApp(async (app) => {
          const { teamStatus } = await import('../../team/team-commands.js');
          let registration;
          if (app.location().engine === 'postgres') {
            const s = await keyless(app);
            registration = s.registration;
            await s.close();
          }
          const st = teamStatus({ paths: app.paths, team: registration });
          if (opts.json) return printJson(st);
          const m = st.machine;
          process.stdout.write(
            m.state === 'held'
              ? `machine   team ${m.teamId}, fingerprint ${m.fingerprint}, in the ${m.keyStore}\n`
              : `machine   ${m.state === 'none' ? 'no team key' : `key missing (${m.detail})`}\n`,
          );
          process.stdout.write(
            st.store
              ? `store     team ${st.store.teamId}: ${st.store.opens ? "this machine's key opens it" : `does not open (${st.store.problem ?? 'another team'})`}\n`
              : 'store     the local vault\n',
          );
        }),
      ),
    );
}
