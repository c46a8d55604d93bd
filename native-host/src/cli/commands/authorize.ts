/**
 * `authorize`: the no-extension way. Print the URL, and finish with the address the browser
 * landed on, read from standard input (argv is visible to other users). ANAF's code lives 60 seconds.
 */
import type { Command } from 'commander';
import { AppError } from '../../../../shared/src/errors.js';
import type { App } from '../../app.js';
import { PENDING_TTL_MS, completeAuthorization, startAuthorization } from '../../oauth/authorization.js';
import { statusOf } from '../../tokens/statuses.js';
import { readConfig } from '../../config/host-config.js';
import { certificateOnToken } from '../../pkcs11/identify.js';
import { action, jsonOption, profileOption, withApp } from '../context.js';
import { printJson, statusTable } from '../output.js';
import { readSecret } from '../secret-input.js';

/** ANAF's authorization code must be exchanged within this long after the login. */
const CODE_VALID_SECONDS = 60;

interface Opts {
  profile: string;
  callbackUrl?: string | true;
  json?: boolean;
}

/** Local time as HH:MM (24 h), the same in both languages. */
const clock = (iso: string) => {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

function finishOptions(app: App) {
  return { ...app.tokenDeps.client, identify: () => certificateOnToken(readConfig(app.paths).pkcs11Modules) };
}

function printStatus(app: App, profile: string, json: boolean | undefined): void {
  const s = statusOf(app, profile);
  if (json) printJson(s);
  else process.stdout.write(statusTable([s]));
}

/** Plain `authorize`: the URL, and what to do within which time. */
function printStart(app: App, opts: Opts): void {
  const start = startAuthorization(app.vault, opts.profile);
  app.log.log('info', 'authorize.started', { profile: opts.profile });
  // expiresAt: until when the login may START (the pending state); the code then lives 60 s.
  if (opts.json) return printJson(start);
  process.stdout.write(`${start.authorizeUrl}\n`);
  const finish = `anaf-token authorize --profile ${opts.profile} --callback-url`;
  process.stderr.write(
    `Deschideți adresa în browserul cu cheia USB și alegeți certificatul calificat. Începeți autentificarea în ${PENDING_TTL_MS / 60_000} minute (până la ${clock(start.expiresAt)}); ` +
      `după autentificare aveți ${CODE_VALID_SECONDS} de secunde: rulați imediat "${finish}" și lipiți adresa la care ați ajuns.\n` +
      `Open the URL in the browser that has the USB key and pick the qualified certificate. Start the login within ${PENDING_TTL_MS / 60_000} minutes (by ${clock(start.expiresAt)}); ` +
      `after the login you have ${CODE_VALID_SECONDS} seconds: run "${finish}" at once and paste the address you landed on.\n`,
  );
}

/** `--callback-url` without a value: the address comes from standard input or a prompt. */
async function finishFromInput(app: App, opts: Opts): Promise<void> {
  const profile = app.vault.getProfile(opts.profile); // an unknown profile fails before the prompt
  const callbackUrl = await readSecret(
    'Adresa la care ați ajuns (nu se afișează) / The address you landed on (not shown): ',
    'CALLBACK_INVALID',
  );
  await completeAuthorization(app.vault, profile.name, callbackUrl, app.log, finishOptions(app));
  printStatus(app, profile.name, opts.json);
}

export function register(program: Command): void {
  program
    .command('authorize')
    .description(
      'print the ANAF authorize URL to open in a browser with the USB key; then finish with --callback-url (the address read from standard input)',
    )
    .addOption(profileOption())
    .option(
      '--callback-url [url]',
      'finish: the address the browser landed on is read from standard input or a prompt; a URL given here is refused (the command line is visible to other users)',
    )
    .addOption(jsonOption())
    .action(
      action(async (opts: Opts) => {
        // A value after --callback-url sits in argv, which every user of the computer can read.
        if (typeof opts.callbackUrl === 'string') {
          throw new AppError(
            'BAD_REQUEST',
            '--callback-url takes no value: give the address on standard input or at the prompt (the command line is visible to other users), ' +
              `e.g. anaf-token authorize --profile ${opts.profile} --callback-url, then paste it`,
          );
        }
        await withApp(async (app) => {
          if (opts.callbackUrl) return finishFromInput(app, opts);
          return printStart(app, opts);
        });
      }),
    );
}
