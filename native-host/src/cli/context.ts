/** What every command shares: option parsers, the app for one run, and turning failures into exit codes. */
import { Command, Option } from 'commander';
import type * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { PROFILE_NAME_RE, PROFILE_NAME_RULE } from '#shared/profile-name.js';
import { App } from '../app.js';
import { ensureDataDirs, resolvePaths } from '../config/paths.js';
import { createLogger } from '../log/logger.js';
import { reportError } from './output.js';

export function parseWith<T>(schema: z.ZodMiniType<T>, what: string) {
  return (value: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new AppError('BAD_REQUEST', `${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
    return r.data;
  };
}

export const jsonOption = () => new Option('--json', 'machine-readable output');
/** A profile name option's parser; a regular expression, no schema: `token` runs without loading zod. */
export function profileName(what: string) {
  return (value: string): string => {
    if (!PROFILE_NAME_RE.test(value)) throw new AppError('BAD_REQUEST', `${what}: ${PROFILE_NAME_RULE}`);
    return value;
  };
}

export const profileOption = () => new Option('--profile <name>', 'profile name').makeOptionMandatory().argParser(profileName('--profile'));

export interface CliContext {
  program: Command;
  /** Set by a failed action; main.ts exits with it. */
  exitCode: number;
}

export const cli: CliContext = { program: new Command('anaf-token'), exitCode: 0 };

/**
 * The app for one command. The data folder and its log folder are checked first (safe-paths.ts):
 * one another user could change or swap is refused with UNSAFE_FOLDER before anything in it is
 * read, written or logged.
 */
export function makeApp(component: string, logToStderr = Boolean(cli.program.opts().verbose)): App {
  const paths = resolvePaths();
  ensureDataDirs(paths);
  const timeout = Number(process.env.ANAF_TOKEN_HTTP_TIMEOUT_MS);
  return new App({
    paths,
    log: createLogger({ component, file: paths.logFile, stderr: logToStderr }),
    ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutMs: timeout } : {}),
  });
}

/** Opens the app (the store on first use) for one command and always closes it. */
export async function withApp<T>(fn: (app: App) => Promise<T> | T): Promise<T> {
  const app = makeApp('cli');
  try {
    await app.ready();
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** Runs a command body; every failure becomes a printed error and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void) {
  return async (...args: A) => {
    const opts = args.find((a): a is { json?: boolean } => typeof a === 'object' && a !== null && !(a instanceof Command));
    try {
      await fn(...args);
    } catch (e) {
      cli.exitCode = reportError(e, Boolean(opts?.json));
    }
  };
}
