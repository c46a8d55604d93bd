/** `etransport upload|status|list`: e-Transport declarations through the same outbox as e-Factura. */
import type { Command } from 'commander';
import { AppError } from '#shared/errors.js';
import { profileFor, readDocument, withGateway } from '../../gateway/cli-support.js';
import { jobView } from '../../gateway/service.js';
import { action, jsonOption } from '../context.js';
import { printJson } from '../output.js';
import { optionalProfile, printJob } from './efactura.js';

export function register(program: Command): void {
  const et = program.command('etransport').description('declare transports in ANAF e-Transport and follow them / declarații e-Transport');

  et.command('upload')
    .description('store the declaration in the outbox and send it; prints our job id (and the UIT once ANAF gives it)')
    .argument('<file>', 'the XML declaration')
    .requiredOption('--cif <cif>', "the declarant's CIF")
    .option('--force', 'send even if the same document was sent before for this CIF')
    .option('--no-send', 'only store it; serve (or a later `etransport status`) sends it')
    .addOption(optionalProfile())
    .addOption(jsonOption())
    .action(
      action((file: string, opts: { cif: string; force?: boolean; send: boolean; profile?: string; json?: boolean }) =>
        withGateway(async (g, app) => {
          const profile = await profileFor(app, opts.profile);
          const r = await g.upload({ profile, kind: 'etransport', cif: opts.cif, xml: readDocument(file), force: opts.force });
          const j = opts.send && !r.duplicate ? await g.advance(r.job.id) : r.job;
          printJob(jobView(j, r.duplicate), opts.json);
        }),
      ),
    );

  et.command('status')
    .description("a job's state (moved on first when due)")
    .argument('<job>', 'the job id upload printed')
    .addOption(jsonOption())
    .action(
      action((id: string, opts: { json?: boolean }) =>
        withGateway(async (g) => {
          const j = await g.advance(id);
          if (j.kind !== 'etransport') throw new AppError('GATEWAY_JOB_NOT_FOUND', `${id} is an e-Factura job`);
          printJob(jobView(j), opts.json);
        }),
      ),
    );

  et.command('list')
    .description("the CIF's e-Transport declarations at ANAF")
    .requiredOption('--cif <cif>', 'CIF')
    .option('--days <n>', 'the last N days, 1 to 60', (v) => Number(v), 60)
    .addOption(optionalProfile())
    .addOption(jsonOption())
    .action(
      action((opts: { cif: string; days: number; profile?: string; json?: boolean }) =>
        withGateway(async (g, app) => {
          const profile = await profileFor(app, opts.profile);
          const r = await g.transportList({ profile, cif: opts.cif, days: opts.days });
          if (opts.json) printJson(r);
          else for (const rec of r.records) process.stdout.write(`${JSON.stringify(rec)}\n`);
        }),
      ),
    );
}
