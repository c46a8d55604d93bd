#!/usr/bin/env node
/**
 * anaf-token: the command line. Command names and options are a user-facing contract
 * (documented in the README); exit codes come from shared/src/errors.ts.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import {
  AppError,
  DEFAULT_REFRESH_WINDOW_DAYS,
  EXTENSION_ID,
  environmentSchema,
  profileInputSchema,
  profileNameSchema,
} from '../../../shared/src/index.js';
import { App } from '../app.js';
import { readConfig } from '../config/host-config.js';
import { extensionIdSchema } from '../config/host-config.js';
import { createLogger } from '../log/logger.js';
import { resolvePaths } from '../config/paths.js';
import { BROWSERS, targetForUserDataDir, type Browser, type Target } from '../install/browsers.js';
import { browserTargets, install, uninstall } from '../install/install.js';
import { runNative } from '../native/run-native.js';
import { callbackUrlFrom, completeAuthorization, startAuthorization } from '../oauth/authorization.js';
import { refreshProfile, revokeProfile, validAccessToken } from '../tokens/refresh.js';
import { allStatuses, statusOf } from '../tokens/statuses.js';
import { HOST_VERSION } from '../version.js';
import { printJson, reportError, statusTable } from './output.js';
import { readSecret } from './secret-input.js';

function parseWith<T>(schema: z.ZodType<T>, what: string) {
  return (value: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new AppError('BAD_REQUEST', `${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
    return r.data;
  };
}

const jsonOption = () => new Option('--json', 'machine-readable output');
const profileOption = () => new Option('--profile <name>', 'profile name').makeOptionMandatory().argParser(parseWith(profileNameSchema, '--profile'));

function makeApp(component: string, verbose: boolean, logToStderr = verbose): App {
  const paths = resolvePaths();
  const timeout = Number(process.env.ANAF_TOKEN_HTTP_TIMEOUT_MS);
  return new App({
    paths,
    log: createLogger({ component, file: paths.logFile, stderr: logToStderr }),
    ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutMs: timeout } : {}),
  });
}

let exitCode = 0;

/** Runs a command body; every failure becomes a printed error and an exit code. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void) {
  return async (...args: A) => {
    const opts = args.find((a): a is { json?: boolean } => typeof a === 'object' && a !== null && !(a instanceof Command));
    try {
      await fn(...args);
    } catch (e) {
      exitCode = reportError(e, Boolean(opts?.json));
    }
  };
}

function installTargets(opts: { browser: string; userDataDir?: string }): Target[] {
  if (opts.userDataDir) return [targetForUserDataDir(opts.userDataDir)];
  const browsers: Browser[] = opts.browser === 'all' ? [...BROWSERS] : [opts.browser as Browser];
  return browserTargets(browsers);
}

const program = new Command('anaf-token')
  .description('Get and keep the ANAF OAuth token for e-Factura / e-Transport. Obține și păstrează tokenul ANAF.')
  .version(HOST_VERSION)
  .option('-v, --verbose', 'log to stderr too')
  // Before any subcommand is added, so they inherit it: usage errors then exit 2, not 1.
  .exitOverride();

const verbose = () => Boolean(program.opts().verbose);

program
  .command('install')
  .description('register the native messaging host for a browser')
  .addOption(new Option('--browser <browser>', 'which browser').choices([...BROWSERS, 'all']).default('chrome'))
  .option('--extension-id <id...>', 'extension IDs allowed to call the host', [EXTENSION_ID])
  .option('--user-data-dir <dir>', 'a browser started with --user-data-dir (manifest goes there)')
  .addOption(jsonOption())
  .action(
    action((opts: { browser: string; extensionId: string[]; userDataDir?: string; json?: boolean }) => {
      const ids = opts.extensionId.map(parseWith(extensionIdSchema, '--extension-id'));
      const paths = resolvePaths();
      const done = install({ paths, targets: installTargets(opts), extensionIds: ids });
      if (opts.json) printJson({ installed: done, allowedExtensionIds: ids });
      else for (const d of done) process.stdout.write(`installed for ${d.browser}: ${d.registryKey ?? d.manifest}\n`);
    }),
  );

program
  .command('uninstall')
  .description('remove the native messaging host registration')
  .addOption(new Option('--browser <browser>', 'which browser').choices([...BROWSERS, 'all']).default('all'))
  .option('--user-data-dir <dir>', 'a browser started with --user-data-dir')
  .addOption(jsonOption())
  .action(
    action((opts: { browser: string; userDataDir?: string; json?: boolean }) => {
      const removed = uninstall({ paths: resolvePaths(), targets: installTargets(opts) });
      if (opts.json) printJson({ removed });
      else for (const d of removed) process.stdout.write(`removed for ${d.browser}: ${d.registryKey ?? d.manifest}\n`);
    }),
  );

const profile = program.command('profile').description('ANAF application registrations (client id, secret, callback URL)');

profile
  .command('add')
  .description('add a profile; the client secret is read from standard input or a prompt')
  .requiredOption('--name <name>', 'profile name')
  .requiredOption('--client-id <id>', 'client ID from ANAF\'s portal')
  .requiredOption('--redirect-uri <url>', 'callback URL registered at ANAF, exactly')
  .option('--env <env>', 'prod, test, or the https base URL of another OAuth server', 'prod')
  .option('--refresh-window <days>', 'refresh when the access token has fewer days left', String(DEFAULT_REFRESH_WINDOW_DAYS))
  .addOption(jsonOption())
  .action(
    action(async (opts: { name: string; clientId: string; redirectUri: string; env: string; refreshWindow: string; json?: boolean }) => {
      const clientSecret = await readSecret();
      const parsed = profileInputSchema.safeParse({
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
      const app = makeApp('cli', verbose());
      try {
        const p = app.vault.saveProfile(parsed.data, 'create');
        app.log.log('info', 'profile.added', { profile: p.name });
        if (opts.json) printJson(p);
        else process.stdout.write(`profile "${p.name}" added / profil adăugat\n`);
      } finally {
        app.close();
      }
    }),
  );

profile
  .command('list')
  .description('list profiles (never the secret)')
  .addOption(jsonOption())
  .action(
    action((opts: { json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        const list = app.vault.listProfiles();
        if (opts.json) printJson(list);
        else if (!list.length) process.stdout.write('No profiles. / Niciun profil.\n');
        else for (const p of list) process.stdout.write(`${p.name}\t${p.clientId}\t${p.redirectUri}\t${p.env}\n`);
      } finally {
        app.close();
      }
    }),
  );

profile
  .command('remove')
  .description('remove a profile and its stored tokens (they are not revoked at ANAF: run "revoke" first)')
  .requiredOption('--name <name>', 'profile name')
  .addOption(jsonOption())
  .action(
    action((opts: { name: string; json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        if (!app.vault.removeProfile(opts.name)) throw new AppError('PROFILE_NOT_FOUND', opts.name);
        app.log.log('info', 'profile.removed', { profile: opts.name });
        if (opts.json) printJson({ removed: opts.name });
        else process.stdout.write(`profile "${opts.name}" removed / profil șters\n`);
      } finally {
        app.close();
      }
    }),
  );

program
  .command('authorize')
  .description('print the ANAF authorize URL to open in a browser with the USB key; with --callback-url, finish it')
  .addOption(profileOption())
  .option('--callback-url <url>', 'the full URL the browser was redirected to after login')
  .addOption(new Option('--code <code>', 'only the code from that URL (instead of --callback-url)').conflicts('callbackUrl'))
  .option('--state <state>', 'the state from that URL, with --code')
  .addOption(jsonOption())
  .action(
    action(async (opts: { profile: string; callbackUrl?: string; code?: string; state?: string; json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        if (!opts.callbackUrl && !opts.code) {
          const start = startAuthorization(app.vault, opts.profile);
          app.log.log('info', 'authorize.started', { profile: opts.profile });
          if (opts.json) printJson(start);
          else {
            process.stdout.write(`${start.authorizeUrl}\n`);
            process.stderr.write(
              'Deschideți adresa în browserul cu cheia USB, alegeți certificatul calificat, apoi rulați din nou cu --callback-url "<adresa la care ați ajuns>".\n' +
                'Open the URL in the browser that has the USB key, pick the qualified certificate, then run again with --callback-url "<the address you landed on>".\n' +
                `Valid until / valabil până la ${start.expiresAt}.\n`,
            );
          }
          return;
        }
        const callbackUrl = opts.callbackUrl ?? callbackUrlFrom(app.vault.getProfile(opts.profile), opts.code!, opts.state);
        await completeAuthorization(app.vault, opts.profile, callbackUrl, app.log, app.tokenDeps.client);
        const s = statusOf(app, opts.profile);
        if (opts.json) printJson(s);
        else process.stdout.write(statusTable([s]));
      } finally {
        app.close();
      }
    }),
  );

program
  .command('list')
  .description('profiles with token status (never prints a token)')
  .addOption(jsonOption())
  .action(
    action((opts: { json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        const statuses = allStatuses(app);
        if (opts.json) printJson(statuses);
        else process.stdout.write(statusTable(statuses));
      } finally {
        app.close();
      }
    }),
  );

program
  .command('token')
  .description('print a valid access token, refreshing it first when due')
  .addOption(profileOption())
  .addOption(jsonOption())
  .action(
    action(async (opts: { profile: string; json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        const t = await validAccessToken(app.tokenDeps, opts.profile);
        app.log.log('info', 'token.served', { profile: opts.profile, to: 'cli' });
        if (opts.json) printJson({ profile: opts.profile, accessToken: t.accessToken, expiresAt: new Date(t.expiresAt).toISOString() });
        else process.stdout.write(`${t.accessToken}\n`);
      } finally {
        app.close();
      }
    }),
  );

program
  .command('refresh')
  .description('refresh the token now (no USB key needed)')
  .addOption(profileOption())
  .addOption(jsonOption())
  .action(
    action(async (opts: { profile: string; json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        await refreshProfile(app.tokenDeps, opts.profile, { force: true });
        const s = statusOf(app, opts.profile);
        if (opts.json) printJson(s);
        else process.stdout.write(statusTable([s]));
      } finally {
        app.close();
      }
    }),
  );

program
  .command('revoke')
  .description('revoke the tokens at ANAF and forget them')
  .addOption(profileOption())
  .addOption(jsonOption())
  .action(
    action(async (opts: { profile: string; json?: boolean }) => {
      const app = makeApp('cli', verbose());
      try {
        await revokeProfile(app.tokenDeps, opts.profile);
        const s = statusOf(app, opts.profile);
        if (opts.json) printJson(s);
        else process.stdout.write(`tokens of "${opts.profile}" revoked / tokenuri revocate\n`);
      } finally {
        app.close();
      }
    }),
  );

program
  .command('native', { hidden: true })
  .description('the stdio mode the browser starts')
  .argument('[origin]', 'caller origin, given by the browser')
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (origin: string | undefined) => {
    // stdout carries the protocol: logs go to the file only.
    const app = makeApp('native', false, false);
    let allowed: string[];
    try {
      allowed = readConfig(app.paths).allowedExtensionIds;
    } catch (e) {
      app.log.log('error', 'native.config', { error: (e as Error).message });
      allowed = [];
    }
    app.log.log('debug', 'native.start', { origin: origin?.slice(0, 100) });
    exitCode = await runNative(app, origin, allowed, { input: process.stdin, output: process.stdout });
    app.close();
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const code = (e as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') exitCode = 0;
  else if (typeof code === 'string' && code.startsWith('commander.')) exitCode = 2;
  else exitCode = reportError(e, process.argv.includes('--json'));
}
process.exitCode = exitCode;
