/** `native`: the stdio mode the browser starts through the launcher. */
import type { Command } from 'commander';
import { readConfig } from '../../config/host-config.js';
import { runNative } from '../../native/run-native.js';
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
      const app = makeApp('native', false);
      let allowed: string[];
      try {
        allowed = readConfig(app.paths).allowedExtensionIds;
      } catch (e) {
        app.log.log('error', 'native.config', { error: (e as Error).message });
        allowed = [];
      }
      app.log.log('debug', 'native.start', { origin: origin?.slice(0, 100) });
      cli.exitCode = await runNative(app, origin, allowed, { input: process.stdin, output: process.stdout });
      app.close();
    });
}
