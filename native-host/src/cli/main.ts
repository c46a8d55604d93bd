#!/usr/bin/env node
/**
 * anaf-token: the command line. Command names and options are a user-facing contract
 * (documented in the README); exit codes come from shared/src/errors.ts.
 */
import { HOST_VERSION } from '../version.js';
import { cli } from './context.js';
import { reportError } from './output.js';
import * as authorize from './commands/authorize.js';
import * as clients from './commands/clients.js';
import * as doctor from './commands/doctor.js';
import * as install from './commands/install.js';
import * as native from './commands/native.js';
import * as pkcs11 from './commands/pkcs11.js';
import * as profile from './commands/profile.js';
import * as serve from './commands/serve.js';
import * as service from './commands/service.js';
import * as tokens from './commands/tokens.js';

const program = cli.program
  .description('Get and keep the ANAF OAuth token for e-Factura / e-Transport. Obține și păstrează tokenul ANAF.')
  .version(HOST_VERSION)
  .option('-v, --verbose', 'log to stderr too')
  // Before any subcommand is added, so they inherit it: usage errors then exit 2, not 1.
  .exitOverride();

for (const group of [install, profile, authorize, tokens, native, pkcs11, serve, clients, service, doctor]) group.register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const code = (e as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') cli.exitCode = 0;
  else if (typeof code === 'string' && code.startsWith('commander.')) cli.exitCode = 2;
  else cli.exitCode = reportError(e, process.argv.includes('--json'));
}
process.exitCode = cli.exitCode;
