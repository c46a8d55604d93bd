/** `authorize`: the no-extension way: print the URL, then finish with where the browser landed. */
import { Option, type Command } from 'commander';
import { callbackUrlFrom, completeAuthorization, startAuthorization } from '../../oauth/authorization.js';
import { statusOf } from '../../tokens/statuses.js';
import { readConfig } from '../../config/host-config.js';
import { certificateOnToken } from '../../pkcs11/identify.js';
import { action, jsonOption, profileOption, withApp } from '../context.js';
import { printJson, statusTable } from '../output.js';

export function register(program: Command): void {
  program
    .command('authorize')
    .description('print the ANAF authorize URL to open in a browser with the USB key; with --callback-url, finish it')
    .addOption(profileOption())
    .option('--callback-url <url>', 'the full URL the browser was redirected to after login')
    .addOption(new Option('--code <code>', 'only the code from that URL (instead of --callback-url)').conflicts('callbackUrl'))
    .option('--state <state>', 'the state from that URL, with --code')
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; callbackUrl?: string; code?: string; state?: string; json?: boolean }) =>
        withApp(async (app) => {
          if (!opts.callbackUrl && !opts.code) {
            const start = startAuthorization(app.vault, opts.profile);
            app.log.log('info', 'authorize.started', { profile: opts.profile });
            if (opts.json) return printJson(start);
            process.stdout.write(`${start.authorizeUrl}\n`);
            process.stderr.write(
              'Deschideți adresa în browserul cu cheia USB, alegeți certificatul calificat, apoi rulați din nou cu --callback-url "<adresa la care ați ajuns>".\n' +
                'Open the URL in the browser that has the USB key, pick the qualified certificate, then run again with --callback-url "<the address you landed on>".\n' +
                `Valid until / valabil până la ${start.expiresAt}.\n`,
            );
            return;
          }
          const callbackUrl = opts.callbackUrl ?? callbackUrlFrom(app.vault.getProfile(opts.profile), opts.code!, opts.state);
          await completeAuthorization(app.vault, opts.profile, callbackUrl, app.log, {
            ...app.tokenDeps.client,
            identify: (serial) => certificateOnToken(readConfig(app.paths).pkcs11Modules, serial),
          });
          const s = statusOf(app, opts.profile);
          if (opts.json) printJson(s);
          else process.stdout.write(statusTable([s]));
        }),
      ),
    );
}
