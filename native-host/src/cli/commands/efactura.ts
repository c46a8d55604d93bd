/**
 * `efactura upload|status|messages|download|validate|pdf|api`: the e-Factura gateway from the
 * command line. An upload is stored in the outbox first (gateway/), then sent at once unless
 * --no-send; a running `serve` sends, polls and reconciles queued jobs by itself, and without one
 * every `efactura status` moves its job on (within ANAF's limits).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { AppError } from '#shared/errors.js';
import type { MessageFilter, ValidationStandard } from '../../efactura/index.js';
import { profileFor, readDocument, setProfileApi, withGateway } from '../../gateway/cli-support.js';
import { jobView, type JobView } from '../../gateway/service.js';
import { action, jsonOption, parseWith, withApp } from '../context.js';
import { printJson } from '../output.js';
import { profileNameSchema } from '#shared/schemas/profile.js';

export const optionalProfile = () =>
  new Option('--profile <name>', 'profile name (default: the only one)').argParser(parseWith(profileNameSchema(), '--profile'));

const wholeNumber =
  (what: string) =>
  (v: string): number => {
    if (!/^\d{1,4}$/.test(v)) throw new AppError('BAD_REQUEST', `${what}: a whole number`);
    return Number(v);
  };

/** `upload --json`'s contract: { job, state, indexIncarcare?, idDescarcare? } (and more fields, never fewer). */
export function printJob(v: JobView, json: boolean | undefined): void {
  if (json) {
    printJson(v);
    return;
  }
  const parts = [`job ${v.job}: ${v.state}`];
  if (v.duplicate) parts.push('(same document as before: not sent again / același document: nu se retrimite)');
  if (v.indexIncarcare) parts.push(`index_incarcare ${v.indexIncarcare}`);
  if (v.idDescarcare) parts.push(`id_descarcare ${v.idDescarcare}`);
  if (v.uit) parts.push(`UIT ${v.uit}`);
  process.stdout.write(parts.join('  ') + '\n');
  for (const e of v.errors ?? []) process.stdout.write(`  ${e}\n`);
  if (v.error) process.stdout.write(`  ${v.error.code}${v.error.detail ? `: ${v.error.detail}` : ''}\n`);
}

export function register(program: Command): void {
  const ef = program.command('efactura').description('send invoices to ANAF e-Factura, track them, fetch the answers / trimitere facturi în e-Factura');

  ef.command('upload')
    .description('store the invoice in the outbox and send it; prints our job id at once')
    .argument('<file>', 'the XML document')
    .requiredOption('--cif <cif>', "the sender's CIF (digits, optionally after RO)")
    .addOption(new Option('--standard <std>', 'UBL, CN, CII or RASP').choices(['UBL', 'CN', 'CII', 'RASP']).default('UBL'))
    .option('--b2c', 'B2C invoice (uploadb2c)')
    .option('--extern', 'buyer outside Romania (extern=DA)')
    .option('--autofactura', 'self-billing (autofactura=DA)')
    .option('--force', 'send even if the same document was sent before for this CIF and standard')
    .option('--no-send', 'only store it; serve (or a later `efactura status`) sends it')
    .addOption(optionalProfile())
    .addOption(jsonOption())
    .action(
      action(
        (
          file: string,
          opts: {
            cif: string;
            standard: string;
            b2c?: boolean;
            extern?: boolean;
            autofactura?: boolean;
            force?: boolean;
            send: boolean;
            profile?: string;
            json?: boolean;
          },
        ) =>
          withGateway(async (g, app) => {
            const xml = readDocument(file);
            const profile = await profileFor(app, opts.profile);
            const r = await g.upload({
              profile,
              kind: 'efactura',
              cif: opts.cif,
              standard: opts.standard,
              flags: { b2c: opts.b2c, extern: opts.extern, autofactura: opts.autofactura },
              xml,
              force: opts.force,
            });
            const j = opts.send && !r.duplicate ? await g.advance(r.job.id) : r.job;
            printJob(jobView(j, r.duplicate), opts.json);
          }),
      ),
    );

  ef.command('status')
    .description("a job's state (moved on first when due: sent, polled at ANAF within its limits)")
    .argument('<job>', 'the job id upload printed')
    .addOption(jsonOption())
    .action(
      action((id: string, opts: { json?: boolean }) =>
        withGateway(async (g) => {
          printJob(jobView(await g.advance(id)), opts.json);
        }),
      ),
    );

  ef.command('messages')
    .description("the CIF's messages at ANAF (paginated list)")
    .requiredOption('--cif <cif>', 'CIF')
    .option('--days <n>', 'the last N days, 1 to 60', wholeNumber('--days'), 7)
    .addOption(new Option('--filter <f>', 'E errors, T sent, P received, R buyer messages').choices(['E', 'T', 'P', 'R']))
    .addOption(optionalProfile())
    .addOption(jsonOption())
    .action(
      action((opts: { cif: string; days: number; filter?: MessageFilter; profile?: string; json?: boolean }) =>
        withGateway(async (g, app) => {
          const profile = await profileFor(app, opts.profile);
          const messages = await g.messages({ profile, cif: opts.cif, days: opts.days, ...(opts.filter ? { filter: opts.filter } : {}) });
          if (opts.json) printJson({ messages });
          else for (const m of messages) process.stdout.write(`${m.id}\t${m.createdAt}\t${m.type}\t${m.uploadIndex ?? ''}\t${m.details}\n`);
        }),
      ),
    );

  ef.command('download')
    .description('download a message once and unpack it into <out>/<cif>/<id>/')
    .argument('<id>', "a job id, or ANAF's id_descarcare (then --cif)")
    .option('--cif <cif>', 'CIF (with an id_descarcare)')
    .option('--out <dir>', 'folder (default: efactura/ in the data folder)')
    .addOption(optionalProfile())
    .addOption(jsonOption())
    .action(
      action((id: string, opts: { cif?: string; out?: string; profile?: string; json?: boolean }) =>
        withGateway(async (g, app) => {
          const profile = /^j/.test(id) ? opts.profile : await profileFor(app, opts.profile);
          const d = await g.download({ id, ...(profile ? { profile } : {}), ...(opts.cif ? { cif: opts.cif } : {}), ...(opts.out ? { out: opts.out } : {}) });
          if (opts.json) printJson({ id: d.id, cif: d.cif, kind: d.kind, folder: d.folder, files: d.files, downloaded: d.downloaded });
          else process.stdout.write(`${d.folder}${d.downloaded ? '' : ' (already downloaded / descărcat deja)'}\n`);
        }),
      ),
    );

  const standardOption = () => new Option('--standard <std>', 'FACT1 (invoice) or FCN (credit note)').choices(['FACT1', 'FCN']).default('FACT1');

  ef.command('validate')
    .description("check an invoice with ANAF's public validator (no token)")
    .argument('<file>', 'the XML document')
    .addOption(standardOption())
    .addOption(new Option('--profile <name>', "use this profile's API address (a test server); ANAF's otherwise"))
    .addOption(jsonOption())
    .action(
      action((file: string, opts: { standard: ValidationStandard; profile?: string; json?: boolean }) =>
        withGateway(async (g) => {
          const r = await g.validate(readDocument(file), opts.standard, opts.profile);
          if (opts.json) printJson(r);
          else process.stdout.write(`${r.valid ? 'valid' : 'NOT valid / NU este valid'}\n${r.messages.map((m) => `  ${m}\n`).join('')}`);
          if (!r.valid) throw new AppError('ANAF_API_REFUSED', r.messages.join(' | ').slice(0, 400) || 'not valid');
        }),
      ),
    );

  ef.command('pdf')
    .description("render an invoice as PDF with ANAF's public service (no token)")
    .argument('<file>', 'the XML document')
    .option('--out <file>', 'the PDF to write (default: FILE with .pdf)')
    .addOption(standardOption())
    .addOption(new Option('--profile <name>', "use this profile's API address (a test server); ANAF's otherwise"))
    .addOption(jsonOption())
    .action(
      action((file: string, opts: { out?: string; standard: ValidationStandard; profile?: string; json?: boolean }) =>
        withGateway(async (g) => {
          const pdf = await g.pdf(readDocument(file), opts.standard, opts.profile);
          const out = opts.out ?? file.replace(/\.xml$/i, '') + '.pdf';
          fs.writeFileSync(out, pdf, { mode: 0o600 });
          if (opts.json) printJson({ file: out, bytes: pdf.byteLength });
          else process.stdout.write(`${out}\n`);
        }),
      ),
    );

  ef.command('api')
    .description("set where a profile's e-Factura / e-Transport API is (prod, test or an https URL); --clear: follow its --env")
    .requiredOption('--profile <name>', 'profile name')
    .argument('[url]', 'prod, test, or an https URL standing for https://api.anaf.ro/{prod|test}')
    .option('--clear', 'forget it')
    .addOption(jsonOption())
    .action(
      action((url: string | undefined, opts: { profile: string; clear?: boolean; json?: boolean }) =>
        withApp(async (app) => {
          if (url === undefined && !opts.clear) throw new AppError('BAD_REQUEST', 'give the URL, or --clear');
          await setProfileApi(app, opts.profile, opts.clear ? undefined : url);
          if (opts.json) printJson({ profile: opts.profile, api: opts.clear ? null : url });
          else process.stdout.write('ok\n');
        }),
      ),
    );
}
