/** `modules`, `certs`, `pin-check`: what is on the USB token, before anything goes wrong at ANAF. */
import path from 'node:path';
import type { Command } from 'commander';
import { CERTIFICATE_WARNING_TEXT, certificateWarnings } from '#shared/certificate-warnings.js';
import { AppError } from '#shared/errors.js';
import type { ModuleReport } from '#shared/schemas/pkcs11.js';
import { readConfig, writeConfig } from '../../config/host-config.js';
import { resolvePaths } from '../../config/paths.js';
import { knownModules } from '../../pkcs11/known-modules.js';
import { checkPinIsolated } from '../../pkcs11/run-isolated.js';
import { scanModules } from '../../pkcs11/scan.js';
import { action, jsonOption, makeApp } from '../context.js';
import { printJson, table } from '../output.js';
import { readSecret } from '../secret-input.js';

const day = (iso: string) => iso.slice(0, 10);

function printReport(reports: ModuleReport[], now = Date.now()): void {
  for (const m of reports) {
    const lib = m.library ? ` — ${m.library.manufacturer} ${m.library.description} ${m.library.version}` : '';
    process.stdout.write(`\n${m.name ?? 'PKCS#11 module'}: ${m.path}${lib}\n`);
    if (m.error) process.stdout.write(`  ! [${m.error.code}] ${m.error.message.ro} / ${m.error.message.en}${m.error.detail ? ` (${m.error.detail})` : ''}\n`);
    for (const t of m.tokens) {
      if (!t.present) {
        process.stdout.write(`  slot ${t.slotId} (${t.slotDescription}): no token / fără token\n`);
        continue;
      }
      if (t.initialized === false) {
        process.stdout.write(`  slot ${t.slotId}: token not initialized / token neinițializat\n`);
        continue;
      }
      const pin = t.pin?.locked
        ? 'PIN LOCKED / BLOCAT'
        : t.pin?.finalTry
          ? 'PIN: last try! / ultima încercare!'
          : t.pin?.countLow
            ? 'PIN: a wrong try was counted / o încercare greșită'
            : 'PIN ok';
      process.stdout.write(
        t.serial === undefined
          ? `  slot ${t.slotId} (${t.slotDescription}): token unreadable / token ilizibil\n`
          : `  token "${t.label}" — ${t.manufacturer} ${t.model}, serial ${t.serial} — ${pin}\n`,
      );
      if (t.error) process.stdout.write(`    ! [${t.error.code}] ${t.error.message.ro} / ${t.error.message.en}\n`);
      if (!t.certificates.length && !t.error) process.stdout.write('    no certificates / niciun certificat\n');
      for (const c of t.certificates) {
        const q = c.qualified.compliance
          ? `qualified${c.qualified.qscd ? ' QSCD' : ''}${c.qualified.types.length ? ' ' + c.qualified.types.join(',') : ''}`
          : 'not qualified';
        process.stdout.write(`    [${c.id || '-'}] ${c.commonName}\n`);
        process.stdout.write(
          table([
            ['', 'serial', c.serialHex],
            ['', 'issuer', c.issuer],
            ['', 'valid', `${day(c.notBefore)} → ${day(c.notAfter)}`],
            ['', 'key', `${c.keyAlgorithm}, private key ${c.privateKey}`],
            ['', 'usage', `${[...c.keyUsage, ...c.extendedKeyUsage].join(', ') || 'any'}; ${q}`],
          ]).replace(/^(?=.)/gm, '    '),
        );
        for (const w of certificateWarnings(c, now)) {
          process.stdout.write(`      ⚠ ${CERTIFICATE_WARNING_TEXT[w].ro} / ${CERTIFICATE_WARNING_TEXT[w].en}\n`);
        }
      }
    }
  }
}

export function register(program: Command): void {
  program
    .command('modules')
    .description('PKCS#11 drivers of the known USB tokens: which are installed here, and the ones you added')
    .option('--add <path...>', 'add a driver by its full path: the browser extension may then ask for it (kept in config.json "pkcs11Modules")')
    .option('--remove <path...>', 'remove a driver added with --add')
    .addOption(jsonOption())
    .action(
      action((opts: { add?: string[]; remove?: string[]; json?: boolean }) => {
        const list = knownModules();
        const paths = resolvePaths();
        let configured = readConfig(paths).pkcs11Modules;
        if (opts.add || opts.remove) {
          // Only the user, here, decides which other libraries the native host may load.
          for (const p of opts.add ?? []) {
            if (!path.isAbsolute(p) || p.length > 1024) throw new AppError('BAD_REQUEST', `--add: a driver is given by its full path (${p.slice(0, 200)})`);
          }
          const removed = new Set(opts.remove ?? []);
          configured = [...new Set([...configured, ...(opts.add ?? [])])].filter((p) => !removed.has(p));
          writeConfig(paths, { ...readConfig(paths), pkcs11Modules: configured });
        }
        if (opts.json) return printJson({ known: list, configured });
        const rows = [['INSTALLED', 'DRIVER', 'USED BY', 'PATH']];
        for (const m of list) rows.push([m.installed ? 'yes' : '-', m.name.slice(0, 48), m.usedBy.join(', ') || '-', m.path]);
        for (const p of configured) rows.push(['config', 'configured by you', '-', p]);
        process.stdout.write(table(rows));
      }),
    );

  program
    .command('certs')
    .description('certificates on the USB token(s), read without the PIN')
    .option('--module <path...>', 'PKCS#11 driver to use (default: every known one that is installed)')
    .addOption(jsonOption())
    .action(
      action(async (opts: { module?: string[]; json?: boolean }) => {
        const app = makeApp('cli');
        try {
          const reports = await scanModules(opts.module, readConfig(app.paths).pkcs11Modules);
          app.log.log('info', 'pkcs11.scan', {
            modules: reports.length,
            certificates: reports.reduce((n, r) => n + r.tokens.reduce((k, t) => k + t.certificates.length, 0), 0),
          });
          // Nothing could be read at all: the answer is the first module's error (one JSON document).
          const firstError = reports.find((r) => r.error)?.error;
          const failed = firstError !== undefined && reports.every((r) => r.error);
          if (opts.json && !failed) printJson(reports);
          if (!opts.json) printReport(reports);
          if (failed) throw AppError.fromPayload(firstError);
        } finally {
          await app.close();
        }
      }),
    );

  program
    .command('pin-check')
    .description('prove the PIN and the key: log in and sign a challenge (the PIN is read from stdin or a prompt, never stored)')
    .requiredOption('--module <path>', 'PKCS#11 driver')
    .requiredOption('--token <serial>', 'token serial (see "certs")')
    .requiredOption('--cert <id>', 'certificate id in hex (see "certs")')
    .addOption(jsonOption())
    .action(
      action(async (opts: { module: string; token: string; cert: string; json?: boolean }) => {
        const pin = await readSecret('PIN (nu se afișează / not shown): ', 'BAD_REQUEST');
        const app = makeApp('cli');
        try {
          const r = await checkPinIsolated({ module: opts.module, tokenSerial: opts.token, certId: opts.cert.toLowerCase(), pin });
          app.log.log('info', 'pkcs11.pin-check', { ok: r.ok, verified: r.signatureVerified });
          if (opts.json) printJson(r);
          else process.stdout.write(`PIN ok; ${r.mechanism} signature ${r.signatureVerified ? 'verified / verificată' : 'NOT verified / neverificată'}\n`);
        } catch (e) {
          app.log.log('warn', 'pkcs11.pin-check-failed', { code: e instanceof AppError ? e.code : 'INTERNAL' });
          throw e;
        } finally {
          await app.close();
        }
      }),
    );
}
