/** `native`: the stdio mode the browser starts through the launcher. */
import type { Command } from 'commander';
import { AppError } from '#shared/errors.js';
import type { App } from '../../app.js';
import { refuseNative, runNative } from '../../native/run-native.js';
import { cli, makeApp } from '../context.js';

export function register(program: Command): void {
  program
    .command('native', { hidden: true })
    .description('the stdio mode the browser starts')
    .argument('[origin]', 'caller origin, given by the browser')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (origin: string | undefined) => {
      // stdout carries the protocol: logs go to the file only.
      let app: App;
      try {
        app = makeApp('native', false);
      } catch (e) {
        // An unsafe data folder: the browser gets the typed error (and its advice) instead of a host that went silent.
        const err = AppError.from(e);
        cli.exitCode = await refuseNative({ input: process.stdin, output: process.stdout }, err);
        return;
      }
      let allowed: string[];
      try {
        allowed = app.config().allowedExtensionIds;
      } catch (e) {
        app.log.log('error', 'native.config', { error: (e as Error).message });
        allowed = [];
      }
      app.log.log('debug', 'native.start', { origin: origin?.slice(0, 100) });
      cli.exitCode = await runNative(app, origin, allowed, { input: process.stdin, output: process.stdout });
      await app.close();
    });
}
