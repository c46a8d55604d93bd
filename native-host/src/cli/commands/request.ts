/**
 * `request`: ask the certificate holder from afar. `create` makes a one-time link for a profile
 * (the holder opens it in a browser with the extension; no native host, no profile there);
 * `import` takes the answer the holder sends back; `list` and `cancel` manage the open ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import QRCode from 'qrcode';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { DEFAULT_VALID_MS, NOTE_MAX_LENGTH, requestIdSchema } from '#shared/request/format.js';
import { cancelRequest, withPending } from '../../request/requester.js';
import { createLinkRequest, importAnswer } from '../../request/requests.js';
import { action, jsonOption, parseWith, profileOption, withApp } from '../context.js';
import { printJson, table } from '../output.js';
import { readSecret } from '../secret-input.js';

const UNIT_MS = { m: 60_000, h: 3_600_000 } as const;
const validSchema = z.pipe(
  z.string().check(z.regex(/^\d{1,4}[mh]$/, 'a duration such as 30m or 5h')),
  z.transform((s: string) => Number(s.slice(0, -1)) * UNIT_MS[s.slice(-1) as keyof typeof UNIT_MS]),
);
const noteSchema = z.string().check(z.trim(), z.minLength(1), z.maxLength(NOTE_MAX_LENGTH));
/** An answer with two JWTs is a few KB; anything far larger is not one. */
const MAX_ANSWER_BYTES = 256 * 1024;

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

async function readAnswer(file: string | undefined): Promise<string> {
  if (file === undefined || file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of process.stdin) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
      size += b.length;
      if (size > MAX_ANSWER_BYTES) throw new AppError('REQUEST_TAMPERED', 'far larger than an answer');
      chunks.push(b);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new AppError('BAD_REQUEST', `no such file: ${file}`);
  if (st.size > MAX_ANSWER_BYTES) throw new AppError('REQUEST_TAMPERED', 'far larger than an answer');
  return fs.readFileSync(file, 'utf8');
}

export function register(program: Command): void {
  const req = program.command('request').description('ask the certificate holder from afar: a one-time link answered by the browser extension');

  req
    .command('create')
    .description('make a one-time request link for a profile (prints the link, writes it to a file)')
    .addOption(profileOption())
    .addOption(
      new Option('--valid <duration>', 'how long the link stays valid (5m to 72h)')
        .default(DEFAULT_VALID_MS, '5h')
        .argParser(parseWith(validSchema, '--valid')),
    )
    .addOption(new Option('--note <text>', 'who asks and why, shown to the holder').argParser(parseWith(noteSchema, '--note')))
    .option('--passphrase', 'also protect the link with a short passphrase (read from standard input or a prompt; tell it by phone)')
    .option('--out <file>', 'where to write the link (default: anaf-token-request-<id>.txt in the current folder)')
    .addOption(jsonOption())
    .action(
      action((opts: { profile: string; valid: number; note?: string; passphrase?: boolean; out?: string; json?: boolean }) =>
        withApp(async (app) => {
          const passphrase = opts.passphrase ? await readSecret('Passphrase (nu se afișează / not shown): ', 'BAD_REQUEST') : undefined;
          return withPending(app, async (pending) => {
            const made = await createLinkRequest(app.store, pending, {
              profile: opts.profile,
              validMs: opts.valid,
              note: opts.note,
              passphrase,
              now: app.now(),
            });
            const file = path.resolve(opts.out ?? `anaf-token-request-${made.id}.txt`);
            // The link opens the client secret: the file is for its owner only, like the vault.
            fs.writeFileSync(file, made.link + '\n', { mode: 0o600, flag: 'wx' });
            // The same link as a QR code, for a phone's camera (a link of ~750 characters fits easily).
            const qr = file.replace(/\.txt$/i, '') + '.png';
            fs.writeFileSync(qr, await QRCode.toBuffer(made.link, { type: 'png', errorCorrectionLevel: 'M', margin: 2 }), { mode: 0o600, flag: 'wx' });
            app.log.log('info', 'request.created', { profile: opts.profile, request: made.id, passphrase: passphrase !== undefined });
            const expiresAt = iso(made.expiresAt);
            if (opts.json) return printJson({ id: made.id, link: made.link, file, qr, expiresAt });
            process.stdout.write(
              `${made.link}\n\n` +
                `Trimiteți linkul (sau fișierul ${file}, ori codul QR ${qr}) titularului certificatului; valabil până la ${expiresAt}.\n` +
                `Send the link (or the file ${file}, or the QR code ${qr}) to the certificate holder; valid until ${expiresAt}.\n` +
                (passphrase ? 'Spuneți-i parola la telefon. / Tell them the passphrase by phone.\n' : '') +
                'Apoi / then: anaf-token request import FILE\n',
            );
          });
        }),
      ),
    );

  req
    .command('list')
    .description('the request links made here, newest first')
    .addOption(jsonOption())
    .action(
      action((opts: { json?: boolean }) =>
        withApp((app) =>
          withPending(app, (pending) => {
            const rows = pending.list().map((r) => ({
              id: r.id,
              profile: r.profile,
              status: r.status,
              createdAt: iso(r.createdAt),
              expiresAt: iso(r.expiresAt),
              endedAt: r.endedAt === undefined ? undefined : iso(r.endedAt),
              note: r.note,
              passphrase: r.passphrase,
              certificateSerial: r.certificateSerial,
            }));
            if (opts.json) return printJson(rows);
            if (!rows.length) return void process.stdout.write('No requests. / Nicio cerere.\n');
            const out = [['ID', 'PROFILE', 'STATUS', 'EXPIRES', 'CERTIFICATE', 'NOTE']];
            for (const r of rows) out.push([r.id, r.profile, r.status, r.expiresAt.slice(0, 16).replace('T', ' '), r.certificateSerial ?? '-', r.note ?? '']);
            process.stdout.write(table(out));
          }),
        ),
      ),
    );

  req
    .command('cancel')
    .description('cancel an open request: its answer will be refused')
    .argument('<id>', 'the request id', parseWith(requestIdSchema(), 'id'))
    .addOption(jsonOption())
    .action(
      action((id: string, opts: { json?: boolean }) =>
        withApp(async (app) => {
          await cancelRequest(app, app.log, id);
          if (opts.json) return printJson({ id, cancelled: true });
          process.stdout.write(`Cererea ${id} a fost anulată. / Request ${id} cancelled.\n`);
        }),
      ),
    );

  req
    .command('import')
    .description("import the holder's answer (a file, or - for standard input) and store its tokens")
    .argument('[file]', 'the answer file, or - for standard input')
    .addOption(jsonOption())
    .action(
      action((file: string | undefined, opts: { json?: boolean }) =>
        withApp(async (app) => {
          const text = await readAnswer(file);
          return withPending(app, async (pending) => {
            const done = await importAnswer(app.store, pending, text, app.now(), app.log);
            const c = done.certificate;
            const result = {
              id: done.request.id,
              profile: done.request.profile,
              certificate: { serialHex: c.serialHex, issuer: c.issuer, roles: c.roles },
              accessExpiresAt: iso(done.record.accessExpiresAt),
              refreshExpiresAt: done.record.refreshExpiresAt === undefined ? undefined : iso(done.record.refreshExpiresAt),
            };
            if (opts.json) return printJson(result);
            const who = c.serialHex ? `${c.serialHex}${c.issuer ? ` (${c.issuer})` : ''}` : 'necunoscut / unknown';
            process.stdout.write(
              `Tokenurile profilului ${result.profile} au fost salvate; certificatul: ${who}.\n` +
                `The tokens of profile ${result.profile} were saved; certificate: ${who}.\n` +
                `Access token valid until ${result.accessExpiresAt}.\n`,
            );
          });
        }),
      ),
    );
}
