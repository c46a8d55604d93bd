/** `doctor`: checks the setup end to end and says what to do, in Romanian and English. */
import type { Command } from 'commander';
import { messagesFor } from '#shared/errors.js';
import { resolvePaths } from '../../config/paths.js';
import { DOCTOR_CHECKS } from '../../doctor/checks.js';
import { doctorContext, renderReport, runDoctor } from '../../doctor/run-doctor.js';
import { action, cli, jsonOption } from '../context.js';
import { printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      "check the browsers' host registration, the vault, the USB key, profiles, ANAF reachability and the clock, tokens, and whether ANAF accepts them",
    )
    .option('--user-data-dir <dir...>', 'check a browser started with --user-data-dir instead of the installed browsers')
    .addOption(jsonOption())
    .action(
      action(async (opts: { userDataDir?: string[]; json?: boolean }) => {
        const ctx = doctorContext({ paths: resolvePaths(), userDataDirs: opts.userDataDir ?? [] });
        try {
          const report = await runDoctor(ctx, DOCTOR_CHECKS);
          if (opts.json) printJson(report);
          else {
            process.stdout.write(renderReport(report));
            if (!report.ok) {
              const m = messagesFor('CHECKS_FAILED');
              process.stderr.write(`eroare [CHECKS_FAILED]: ${m.ro}\nerror [CHECKS_FAILED]: ${m.en}\n`);
            }
          }
          if (!report.ok) cli.exitCode = messagesFor('CHECKS_FAILED').exit;
        } finally {
          await ctx.close();
        }
      }),
    );
}
