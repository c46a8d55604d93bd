/** `check`: does the stored access token work right now? One call to ANAF's TestOauth hello. */
import type { Command } from 'commander';
import { checkFailure, checkToken } from '../../tokens/check-token.js';
import { action, cli, jsonOption, profileOption, withApp } from '../context.js';
import { printJson, reportError } from '../output.js';

const SAID = {
  ok: 'ANAF accepts the access token / ANAF acceptă tokenul de acces',
  'not-authorized': 'ANAF does not accept the access token / ANAF nu acceptă tokenul de acces',
  unavailable: 'no verdict from ANAF now / ANAF nu a dat un răspuns acum',
} as const;

export function register(program: Command): void {
  program
    .command('check')
    .description('ask ANAF (TestOauth hello) whether the stored access token works now; never refreshes, never prints the token')
    .addOption(profileOption())
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; json?: boolean }) =>
        withApp(async (app) => {
          const check = await checkToken(app.tokenDeps, opts.profile);
          const failure = checkFailure(check);
          if (opts.json) {
            printJson(check);
            if (failure) cli.exitCode = failure.exitCode;
            return;
          }
          const status = check.httpStatus !== undefined ? ` (HTTP ${check.httpStatus})` : '';
          process.stdout.write(`${check.profile}: ${check.result}${status}: ${SAID[check.result]}\n`);
          // The error's text says what to do, in both languages, with the detail and its known causes.
          if (failure) cli.exitCode = reportError(failure, false);
        }),
      ),
    );
}
