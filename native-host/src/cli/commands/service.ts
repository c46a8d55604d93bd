/** `service install|uninstall|status`: run `serve` at login (systemd user unit, launchd agent, Scheduled Task). */
import { Option, type Command } from 'commander';
import { resolvePaths } from '../../config/paths.js';
import { defaultServePort } from '../../serve/port.js';
import { installService, serviceContext, serviceStatus, uninstallService, type ServiceReport } from '../../service/manager.js';
import { defaultCliPath, defaultProgram } from '../../service/spec.js';
import { action, jsonOption, parseWith } from '../context.js';
import { printJson } from '../output.js';
import { portSchema } from './serve.js';

function print(r: ServiceReport, json: boolean | undefined, headline: string): void {
  if (json) return printJson(r);
  const lines = [headline, `  ${r.kind}: ${r.file}`];
  for (const c of r.ran) lines.push(`  ran: ${c}`);
  if (r.active !== undefined) lines.push(`  active / activ: ${r.active ? 'yes / da' : 'no / nu'}`);
  if (r.listener !== undefined) lines.push(`  listening on / ascultă pe port ${r.port}: ${r.listener.detail}`);
  if (r.answering !== undefined) lines.push(`  answering on / răspunde pe 127.0.0.1:${r.port}: ${r.answering ? 'yes / da' : 'no / nu'}`);
  if (r.todo.length) {
    lines.push('  Rulați / Run:');
    for (const c of r.todo) lines.push(`    ${c}`);
  }
  for (const n of r.notes) lines.push(`  ${n}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export function register(program: Command): void {
  const service = program.command('service').description('run "anaf-token serve" at login as a user service');

  service
    .command('install')
    .description('register serve as a login service (systemd user unit, launchd agent, or Scheduled Task) and start it')
    .addOption(
      new Option('--port <port>', "TCP port on loopback (default: this user's, 8787 for the first; on a terminal server give each user its own)").argParser(
        parseWith(portSchema, '--port'),
      ),
    )
    .addOption(jsonOption())
    .action(
      action((opts: { port?: number; json?: boolean }) => {
        const { dataDir } = resolvePaths();
        const ctx = serviceContext();
        const port = opts.port ?? defaultServePort({ platform: ctx.platform, uid: ctx.uid, run: ctx.run });
        const r = installService(ctx, { nodePath: defaultProgram(), cliPath: defaultCliPath(), dataDir, port });
        const todoNote = r.todo.length && !r.ran.length ? ' (not started: no user service manager here / nepornit)' : '';
        print(r, opts.json, `service installed / serviciu instalat${todoNote}`);
      }),
    );

  service
    .command('uninstall')
    .description('stop and remove the login service')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) => {
        print(uninstallService(serviceContext(), resolvePaths().dataDir), opts.json, 'service removed / serviciu șters');
      }),
    );

  service
    .command('status')
    .description('is the login service installed, active, and answering?')
    .addOption(jsonOption())
    .action(
      action(async (opts: { json?: boolean }) => {
        const r = await serviceStatus(serviceContext(), resolvePaths().dataDir);
        print(r, opts.json, r.installed ? 'service installed / serviciu instalat' : 'service not installed / serviciu neinstalat');
      }),
    );
}
