/** `install` / `uninstall`: the native messaging host registration. */
import { Option, type Command } from 'commander';
import * as z from 'zod/mini';
import { defaultExtensionIds, EXTENSION_ID_RE, EXTENSION_ID_RULE } from '../../config/host-config.js';
import { resolvePaths } from '../../config/paths.js';
import { BROWSERS, targetForUserDataDir, type Browser, type Target } from '../../install/browsers.js';
import { browserTargets, install, uninstall } from '../../install/install.js';
import { action, jsonOption, parseWith } from '../context.js';
import { printJson } from '../output.js';

function targets(opts: { browser: string; userDataDir?: string }): Target[] {
  if (opts.userDataDir) return [targetForUserDataDir(opts.userDataDir)];
  const browsers: Browser[] = opts.browser === 'all' ? [...BROWSERS] : [opts.browser as Browser];
  return browserTargets(browsers);
}

export function register(program: Command): void {
  program
    .command('install')
    .description('register the native messaging host for a browser')
    .addOption(new Option('--browser <browser>', 'which browser').choices([...BROWSERS, 'all']).default('chrome'))
    .option('--extension-id <id...>', 'extension IDs allowed to call the host', defaultExtensionIds())
    .option('--user-data-dir <dir>', 'a browser started with --user-data-dir (manifest goes there)')
    .addOption(jsonOption())
    .action(
      action((opts: { browser: string; extensionId: string[]; userDataDir?: string; json?: boolean }) => {
        const ids = opts.extensionId.map(parseWith(z.string().check(z.regex(EXTENSION_ID_RE, EXTENSION_ID_RULE)), '--extension-id'));
        const done = install({ paths: resolvePaths(), targets: targets(opts), extensionIds: ids });
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
        const removed = uninstall({ paths: resolvePaths(), targets: targets(opts) });
        if (opts.json) printJson({ removed });
        else for (const d of removed) process.stdout.write(`removed for ${d.browser}: ${d.registryKey ?? d.manifest}\n`);
      }),
    );
}
