/** `serve`: the local token service for ERPs, until SIGINT/SIGTERM. */
import { Option, type Command } from 'commander';
import * as z from 'zod/mini';
import { defaultServePort } from '../../serve/port.js';
import { startServe } from '../../serve/server.js';
import { runCommand } from '../../service/runner.js';
import { action, jsonOption, makeApp, parseWith } from '../context.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** "0" (off), or a number with ms, s, m or h; at most a day (timers overflow past 24.8 days). */
export const durationSchema = z
  .pipe(
    z.string().check(z.regex(/^(0|\d{1,9}(ms|s|m|h))$/, 'a duration such as 500ms, 30s, 15m or 1h, or 0')),
    z.transform((s: string) => (s === '0' ? 0 : Number(/^\d+/.exec(s)![0]) * UNIT_MS[/(ms|s|m|h)$/.exec(s)![1] as keyof typeof UNIT_MS])),
  )
  .check(z.refine((ms) => ms <= 86_400_000, 'at most 24h'));

export const portSchema = z.pipe(z.coerce.number(), z.int().check(z.minimum(0), z.maximum(65_535)));

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve tokens to local programs (ERP) over HTTP on 127.0.0.1 and ::1')
    .addOption(
      new Option('--port <port>', 'TCP port on loopback (default: one per user, 8787 for the first; see docs/erp-api.md)').argParser(
        parseWith(portSchema, '--port'),
      ),
    )
    .addOption(
      new Option('--check-interval <duration>', 'how often to look for tokens to refresh (0: never)')
        .default(3_600_000, '1h')
        .argParser(parseWith(durationSchema, '--check-interval')),
    )
    // For tests: how soon a failed refresh is first retried (then doubling).
    .addOption(new Option('--retry-base <duration>').default(60_000).argParser(parseWith(durationSchema, '--retry-base')).hideHelp())
    // For tests: how often refused requests are summed up in the log.
    .addOption(new Option('--refusal-log-every <duration>').default(60_000).argParser(parseWith(durationSchema, '--refusal-log-every')).hideHelp())
    .addOption(jsonOption())
    .action(
      action(async (opts: { port?: number; checkInterval: number; retryBase: number; refusalLogEvery: number; json?: boolean }) => {
        const app = makeApp('serve');
        try {
          await app.ready();
          const running = await startServe({
            app,
            port: opts.port ?? defaultServePort({ run: runCommand }),
            checkIntervalMs: opts.checkInterval,
            retryBaseMs: Math.max(1, opts.retryBase),
            refusalLogEveryMs: Math.max(1, opts.refusalLogEvery),
          });
          if (!(await app.store.listApiClients()).length) {
            process.stderr.write(
              'Niciun client încă: creați o cheie cu "anaf-token clients add NUME".\nNo clients yet: make a key with "anaf-token clients add NAME".\n',
            );
          }
          const urls = running.addresses.map((a) => `http://${a.includes(':') ? `[${a}]` : a}:${running.port}/`);
          // One line: whoever started serve (a test, a supervisor) can read it as soon as it is ready.
          if (opts.json)
            process.stdout.write(
              JSON.stringify({ port: running.port, addresses: running.addresses, urls, pid: process.pid, peerCheck: running.peerCheck }) + '\n',
            );
          else process.stdout.write(`anaf-token serve: ${urls.join(' ')} (Ctrl+C to stop / oprire)\n`);
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          await running.close();
        } finally {
          await app.close();
        }
      }),
    );
}
