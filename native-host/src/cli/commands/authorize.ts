/**
 * `authorize`: the no-extension way. With --listen, wait on loopback for the browser's redirect
 * and finish by itself (ANAF's code lives 60 seconds); without, print the URL, and finish with
 * the address the browser landed on, read from standard input (argv is visible to other users).
 */
import { Option, type Command } from 'commander';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import type { App } from '../../app.js';
import { PENDING_TTL_MS, completeAuthorization, startAuthorization } from '../../tokens/authorize.js';
import { callbackTarget, startLoopbackCallback } from '../../oauth/loopback-callback.js';
import { localCallbackCert } from '../../oauth/local-tls-cert.js';
import { statusOf } from '../../tokens/statuses.js';
import { readConfig } from '../../config/host-config.js';
import { certificateOnToken } from '../../pkcs11/identify.js';
import { action, jsonOption, parseWith, profileOption, withApp } from '../context.js';
import { printJson, statusTable } from '../output.js';
import { readSecret } from '../secret-input.js';
import { openInBrowser } from '../open-browser.js';
import { durationSchema, portSchema } from './serve.js';

/** ANAF's authorization code must be exchanged within this long after the login. */
const CODE_VALID_SECONDS = 60;

const listenPortSchema = portSchema.check(z.refine((p) => p > 0, 'a port from 1 to 65535'));
const timeoutSchema = durationSchema.check(
  z.refine((ms) => ms >= 1_000 && ms <= PENDING_TTL_MS, `from 1s to ${PENDING_TTL_MS / 60_000}m (how long a started authorization lives)`),
);

interface Opts {
  profile: string;
  listen?: number | true;
  open: boolean;
  timeout: number;
  callbackUrl?: string | true;
  json?: boolean;
}

/** Local time as HH:MM (24 h), the same in both languages. */
const clock = (iso: string) => {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

function finishOptions(app: App) {
  return { ...app.tokenDeps.client, identify: (serial: string | undefined) => certificateOnToken(readConfig(app.paths).pkcs11Modules, serial) };
}

async function printStatus(app: App, profile: string, json: boolean | undefined): Promise<void> {
  const s = await statusOf(app.store, profile, app.now());
  if (json) printJson(s);
  else process.stdout.write(statusTable([s]));
}

/** Plain `authorize`: the URL, and what to do within which time. */
async function printStart(app: App, opts: Opts): Promise<void> {
  const start = await startAuthorization(app.store, opts.profile);
  app.log.log('info', 'authorize.started', { profile: opts.profile });
  // expiresAt: until when the login may START (the pending state); the code then lives 60 s.
  if (opts.json) return printJson(start);
  process.stdout.write(`${start.authorizeUrl}\n`);
  const finish = `anaf-token authorize --profile ${opts.profile} --callback-url`;
  process.stderr.write(
    `Deschideți adresa în browserul cu cheia USB și alegeți certificatul calificat. Începeți autentificarea în ${PENDING_TTL_MS / 60_000} minute (până la ${clock(start.expiresAt)}); ` +
      `după autentificare aveți ${CODE_VALID_SECONDS} de secunde: rulați imediat "${finish}" și lipiți adresa la care ați ajuns ` +
      `(sau folosiți --listen, care termină singur).\n` +
      `Open the URL in the browser that has the USB key and pick the qualified certificate. Start the login within ${PENDING_TTL_MS / 60_000} minutes (by ${clock(start.expiresAt)}); ` +
      `after the login you have ${CODE_VALID_SECONDS} seconds: run "${finish}" at once and paste the address you landed on ` +
      `(or use --listen, which finishes by itself).\n`,
  );
}

/** `--callback-url` without a value: the address comes from standard input or a prompt. */
async function finishFromInput(app: App, opts: Opts): Promise<void> {
  const profile = await app.store.getProfile(opts.profile); // an unknown profile fails before the prompt
  const callbackUrl = await readSecret('Adresa la care ați ajuns (nu se afișează) / The address you landed on (not shown): ', 'CALLBACK_INVALID');
  // A person pasted it: ANAF leaving out `state` may still finish the one recent authorization.
  await completeAuthorization(app.store, profile.name, callbackUrl, app.log, { ...finishOptions(app), allowMissingState: true });
  await printStatus(app, profile.name, opts.json);
}

/** `--listen`: wait on loopback for the browser, finish by itself. */
async function listenAndFinish(app: App, opts: Opts): Promise<void> {
  const profile: Profile = await app.store.getProfile(opts.profile);
  const target = callbackTarget(profile.redirectUri, opts.listen === true ? undefined : opts.listen);
  const cert = await localCallbackCert(app.paths.dataDir);
  const listener = await startLoopbackCallback({
    port: target.port,
    path: target.path,
    origin: target.origin,
    tls: cert,
    timeoutMs: opts.timeout,
    log: app.log,
    complete: async (callbackUrl) => {
      await completeAuthorization(app.store, profile.name, callbackUrl, app.log, finishOptions(app));
    },
  });
  try {
    const start = await startAuthorization(app.store, profile.name);
    const until = new Date(Date.now() + opts.timeout).toISOString();
    app.log.log('info', 'authorize.started', { profile: profile.name, listen: listener.port, certificateCreated: cert.created });
    if (opts.json) {
      // One line, so a caller can read it while the command waits; the final status follows.
      process.stdout.write(
        JSON.stringify({
          authorizeUrl: start.authorizeUrl,
          redirectUri: start.redirectUri,
          expiresAt: start.expiresAt,
          listen: { port: listener.port, addresses: listener.addresses, until, certificateSha256: cert.sha256, certificateFile: cert.certFile },
        }) + '\n',
      );
    } else {
      process.stdout.write(`${start.authorizeUrl}\n`);
    }
    const where = `${target.origin}${target.path}`;
    const forwarded = listener.port !== target.registeredPort ? ` (port ${listener.port} here; ${target.registeredPort} in the browser)` : '';
    process.stderr.write(
      `Aștept browserul la ${where}${forwarded} până la ${clock(until)}. / Waiting for the browser at ${where}${forwarded} until ${clock(until)}.\n` +
        `Certificatul TLS al acestei adrese e făcut aici${cert.created ? ' (nou)' : ''}; dacă browserul îl semnalează ca nesigur, verificați amprenta și continuați: ` +
        `codul ANAF e valabil ${CODE_VALID_SECONDS} de secunde. Ca să nu mai apară avertizarea, marcați ca de încredere ${cert.certFile}.\n` +
        `This address's TLS certificate is made here${cert.created ? ' (new)' : ''}; if the browser flags it as not trusted, check the fingerprint and proceed: ` +
        `ANAF's code is valid ${CODE_VALID_SECONDS} seconds. To skip the warning, trust ${cert.certFile}.\n` +
        `SHA-256: ${cert.sha256}\n`,
    );
    const opened = opts.open && openInBrowser(start.authorizeUrl);
    process.stderr.write(
      opened
        ? 'Am deschis adresa în browser; alegeți certificatul calificat de pe cheia USB. / Opened the URL in the browser; pick the qualified certificate on the USB key.\n'
        : 'Deschideți adresa de mai sus în browserul cu cheia USB. / Open the URL above in the browser that has the USB key.\n',
    );
    await listener.outcome;
  } finally {
    await listener.close();
  }
  await printStatus(app, profile.name, opts.json);
}

export function register(program: Command): void {
  program
    .command('authorize')
    .description(
      'get a token with the USB key: --listen waits for the browser on this computer and finishes by itself; ' +
        'without it, print the authorize URL, then finish with --callback-url (the address read from standard input)',
    )
    .addOption(profileOption())
    .addOption(
      new Option('--listen [port]', "wait for the browser's redirect on https://localhost (default port: the profile's callback URL's)")
        .argParser(parseWith(listenPortSchema, '--listen'))
        .conflicts('callbackUrl'),
    )
    .option('--no-open', 'with --listen: do not open the browser, only print the URL')
    .addOption(
      new Option('--timeout <duration>', 'with --listen: how long to wait for the browser')
        .default(PENDING_TTL_MS, '10m')
        .argParser(parseWith(timeoutSchema, '--timeout')),
    )
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
          if (opts.listen !== undefined) return listenAndFinish(app, opts);
          if (opts.callbackUrl) return finishFromInput(app, opts);
          return printStart(app, opts);
        });
      }),
    );
}
