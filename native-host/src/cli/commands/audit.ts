/** `audit`: who got which profile's token, when, from which machine and OS user (the store's audit table). */
import { Option, type Command } from 'commander';
import * as z from 'zod/mini';
import { profileNameSchema } from '#shared/schemas/profile.js';
import { action, jsonOption, parseWith, withApp } from '../context.js';
import { printJson, table } from '../output.js';

const DAY_MS = 86_400_000;
const daysSchema = z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(3650)));
const limitSchema = z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(100_000)));

export function register(program: Command): void {
  program
    .command('audit')
    .description('who got which token when (ERP clients, the CLI), newest first; never a token')
    .addOption(new Option('--profile <name>', 'only this profile').argParser(parseWith(profileNameSchema(), '--profile')))
    .option('--client <name>', 'only this client ("cli" for anaf-token token)')
    .addOption(new Option('--days <n>', 'the last n days').default(30).argParser(parseWith(daysSchema, '--days')))
    .addOption(new Option('--limit <n>', 'at most n rows').default(200).argParser(parseWith(limitSchema, '--limit')))
    .addOption(jsonOption())
    .action(
      action((opts: { profile?: string; client?: string; days: number; limit: number; json?: boolean }) =>
        withApp(async (app) => {
          const rows = await app.store.audit({ profile: opts.profile, client: opts.client, since: app.now() - opts.days * DAY_MS, limit: opts.limit });
          const entries = rows.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
          if (opts.json) return printJson(entries);
          if (!entries.length) return void process.stdout.write('Nothing in the audit for this period. / Nimic în jurnal pentru această perioadă.\n');
          const out = [['WHEN', 'PROFILE', 'CLIENT', 'TOKEN', 'HOST', 'USER', 'WHAT']];
          for (const e of entries) out.push([e.at.slice(0, 19).replace('T', ' '), e.profile, e.client, String(e.generation), e.host, e.osUser, e.action]);
          process.stdout.write(table(out));
        }),
      ),
    );
}
