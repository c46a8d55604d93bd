/** `clients add|list|remove`: the programs (ERPs, scripts) allowed to ask `serve` for tokens. */
import { Option, type Command } from 'commander';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { profileNameSchema } from '#shared/schemas/profile.js';
import { registerSecret } from '../../log/logger.js';
import { clientNameSchema, newClientKey } from '../../serve/client-keys.js';
import { configuredPort, serviceContext } from '../../service/manager.js';
import { action, jsonOption, parseWith, withApp } from '../context.js';
import { printJson, table } from '../output.js';

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const nameArg = parseWith(clientNameSchema(), 'client name');
/** `--profiles a,b`: at least one name, each a profile name. */
const profileListSchema = z
  .pipe(
    z.string(),
    z.transform((v: string) => v.split(',').map((x) => x.trim())),
  )
  .check(
    z.refine(
      (names: string[]) => names.length > 0 && names.length <= 1000 && names.every((n) => profileNameSchema().safeParse(n).success),
      'profile names separated by commas',
    ),
  );

export function register(program: Command): void {
  const clients = program.command('clients').description('client keys for the ERP token service ("anaf-token serve")');

  clients
    .command('add')
    .description('make a client key; it is printed once and kept only sealed in the store (a client made by an older version is replaced)')
    .argument('<name>', 'who will use the key, e.g. the ERP program')
    .option('--personal-id', 'let this client see the personal ID number (serialNumber=PNO…) in certificate subjects')
    .addOption(new Option('--profiles <names>', 'only these profiles (comma-separated; default: all)').argParser(parseWith(profileListSchema, '--profiles')))
    .addOption(jsonOption())
    .action(
      action((rawName: string, opts: { json?: boolean; personalId?: boolean; profiles?: string[] }) =>
        withApp(async (app) => {
          const name = nameArg(rawName);
          const key = newClientKey();
          registerSecret(key);
          for (const p of opts.profiles ?? []) await app.store.getProfile(p); // PROFILE_NOT_FOUND for a typo, before a key is made
          const c = await app.store.addApiClient(name, key, { personalId: opts.personalId === true, ...(opts.profiles ? { profiles: opts.profiles } : {}) });
          app.log.log('info', 'clients.added', {
            client: name,
            personalId: c.personalId,
            profiles: c.profiles?.join(','),
            replacedOldKey: c.replacedOldKey || undefined,
          });
          const { port } = configuredPort(serviceContext(), app.paths.dataDir);
          if (opts.json) {
            return printJson({
              name,
              key,
              createdAt: iso(c.createdAt),
              personalId: c.personalId,
              profiles: c.profiles ?? null,
              port,
              replacedOldKey: c.replacedOldKey,
            });
          }
          process.stdout.write(`${key}\n`);
          process.stderr.write(
            (c.replacedOldKey ? `Cheia veche a clientului "${name}" a fost înlocuită. / The old key of client "${name}" was replaced.\n` : '') +
              `Cheia clientului "${name}" este afișată o singură dată: salvați-o acum în programul care o folosește, cu numele "${name}" și adresa http://127.0.0.1:${port}/.\n` +
              `The key of client "${name}" is shown only once: save it now in the program that uses it, with the name "${name}" and the address http://127.0.0.1:${port}/.\n`,
          );
        }),
      ),
    );

  clients
    .command('list')
    .description('list clients (never their keys)')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withApp(async (app) => {
          const list = (await app.store.listApiClients()).map((c) => ({
            name: c.name,
            createdAt: iso(c.createdAt),
            lastUsedAt: iso(c.lastUsedAt),
            personalId: c.personalId,
            profiles: c.profiles ?? null,
            oldKey: c.oldKey,
          }));
          if (opts.json) return printJson(list);
          if (!list.length) return void process.stdout.write('No clients. Add one with "anaf-token clients add NAME". / Niciun client.\n');
          const rows = [['CLIENT', 'CREATED', 'LAST USED', 'PERSONAL ID', 'PROFILES', 'KEY']];
          for (const c of list) {
            rows.push([
              c.name,
              c.createdAt!.slice(0, 16).replace('T', ' '),
              c.lastUsedAt?.slice(0, 16).replace('T', ' ') ?? '-',
              c.personalId ? 'shown' : 'hidden',
              c.profiles?.join(',') ?? 'all',
              c.oldKey ? 'OLD: unusable' : 'ok',
            ]);
          }
          process.stdout.write(table(rows));
          const old = list.filter((c) => c.oldKey).map((c) => c.name);
          if (old.length) {
            const again = old.map((n) => `anaf-token clients add ${n}`).join('; ');
            process.stderr.write(
              `Cheile marcate OLD au fost create de o versiune veche și nu mai funcționează. Rulați: ${again}\n` +
                `The keys marked OLD were made by an older version and no longer work. Run: ${again}\n`,
            );
          }
        }),
      ),
    );

  clients
    .command('remove')
    .description('remove a client: its key stops working at once')
    .argument('<name>', 'client name')
    .addOption(jsonOption())
    .action(
      action((rawName: string, opts: { json?: boolean }) =>
        withApp(async (app) => {
          const name = nameArg(rawName);
          if (!(await app.store.removeApiClient(name))) throw new AppError('CLIENT_NOT_FOUND', name);
          app.log.log('info', 'clients.removed', { client: name });
          if (opts.json) printJson({ removed: name });
          else process.stdout.write(`client "${name}" removed / client șters\n`);
        }),
      ),
    );
}
