/**
 * anaf-token: the command line. Command names and options are a user-facing contract
 * (documented in the README); exit codes come from shared/src/errors.ts.
 *
 * Each command group is loaded only when its command runs: the browser starts `native` and
 * the ERP `token` many times a day, and neither should pay for loading the rest.
 */
import type { Command } from 'commander';
import { usePrivateUmask } from '../boot/umask.js';
import { HOST_VERSION } from '../version.js';
import { cli } from './context.js';
import { reportError } from './output.js';

// Set first thing by the built entry (boot/run-bundle.ts); again here for runs from the sources.
usePrivateUmask();

type Group = () => Promise<{ register(program: Command): void }>;

const GROUPS: Record<string, Group> = {
  install: () => import('./commands/install.js'),
  uninstall: () => import('./commands/install.js'),
  profile: () => import('./commands/profile.js'),
  authorize: () => import('./commands/authorize.js'),
  list: () => import('./commands/tokens.js'),
  token: () => import('./commands/tokens.js'),
  refresh: () => import('./commands/tokens.js'),
  revoke: () => import('./commands/tokens.js'),
  label: () => import('./commands/tokens.js'),
  check: () => import('./commands/check.js'),
  native: () => import('./commands/native.js'),
  modules: () => import('./commands/pkcs11.js'),
  certs: () => import('./commands/pkcs11.js'),
  'pin-check': () => import('./commands/pkcs11.js'),
  'browser-certs': () => import('./commands/browser-certs.js'),
  serve: () => import('./commands/serve.js'),
  clients: () => import('./commands/clients.js'),
  audit: () => import('./commands/audit.js'),
  store: () => import('./commands/store.js'),
  team: () => import('./commands/team.js'),
  service: () => import('./commands/service.js'),
  doctor: () => import('./commands/doctor.js'),
  request: () => import('./commands/request.js'),
  efactura: () => import('./commands/efactura.js'),
  etransport: () => import('./commands/etransport.js'),
};

const program = cli.program
  .description('Get and keep the ANAF OAuth token for e-Factura / e-Transport. Obține și păstrează tokenul ANAF.')
  .version(HOST_VERSION)
  .option('-v, --verbose', 'log to stderr too')
  // Before any subcommand is added, so they inherit it: usage errors then exit 2, not 1.
  .exitOverride();

async function main(): Promise<void> {
  try {
    // The first word that is not an option names the command; help, --version or an unknown word loads them all.
    const name = process.argv.slice(2).find((a) => !a.startsWith('-'));
    const wanted = name !== undefined && name !== 'help' && GROUPS[name] ? [GROUPS[name]] : [...new Set(Object.values(GROUPS))];
    const loaded = new Set<unknown>();
    for (const load of wanted) {
      const group = await load();
      if (!loaded.has(group)) group.register(program);
      loaded.add(group);
    }
    await program.parseAsync(process.argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') cli.exitCode = 0;
    else if (typeof code === 'string' && code.startsWith('commander.')) cli.exitCode = 2;
    else cli.exitCode = reportError(e, process.argv.includes('--json'));
  }
  process.exitCode = cli.exitCode;
}

void main();
