/**
 * Runs the Windows build under Debian's wine: one prefix for the whole suite (made by
 * global-setup.ts through test/helpers/wine.ts, which also runs the programs with stdin and
 * stdout as files), and what the suite's files share about the packaged artifacts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runWine, wineEnv as prefixEnv } from '../helpers/wine.js';

export const ARTIFACTS = path.resolve('.artifacts/package');
export const WORK = path.resolve('.artifacts/package-work');
/** The folder the MSI installs (exe, launcher, native addons, manifest): what the tests run. */
export const WINDOWS_DIR = path.join(WORK, 'windows');

export function artifact(name: string): string {
  const file = path.join(ARTIFACTS, name);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npm run package" first`);
  return file;
}

/** A file of the installed folder (WINDOWS_DIR): the executable with its addons beside it. */
export function installed(name: string): string {
  const file = path.join(WINDOWS_DIR, name);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npm run package" first`);
  return file;
}

export function msiFile(scope: 'user' | 'machine'): string {
  const name = fs.readdirSync(ARTIFACTS).find((f) => (scope === 'user' ? /^anaf-token-[\d.]+-x64\.msi$/ : /^anaf-token-[\d.]+-x64-machine\.msi$/).test(f));
  if (!name) throw new Error(`no ${scope} MSI in ${ARTIFACTS}: run "npm run package" first`);
  return path.join(ARTIFACTS, name);
}

export function winePrefix(): string {
  const prefix = process.env.ANAF_WINE_PREFIX;
  if (!prefix) throw new Error('ANAF_WINE_PREFIX is not set: run through vitest.windows.config.ts');
  return prefix;
}

export function wineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return prefixEnv(winePrefix(), extra);
}

/** A Linux path as the Windows program sees it (wine maps / to Z:). */
export { winPath } from '../helpers/wine.js';

/** The user's profile folders inside the prefix. */
export function wineUserDir(...parts: string[]): string {
  return path.join(winePrefix(), 'drive_c', 'users', os.userInfo().username, ...parts);
}

export interface WineResult {
  code: number | null;
  stdout: Buffer;
  text: string;
  stderr: string;
  ms: number;
}

/** Runs `wine program args…` in the suite's prefix, with stdin from a file (or nothing) and stdout into a file. */
export function wine(program: string, args: string[], opts: { stdin?: Buffer | string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): WineResult {
  const { status, ...r } = runWine(wineEnv(opts.env), program, args, {
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  return { code: status, ...r };
}

/** `reg query KEY [/v NAME | /ve]` inside the prefix: the value's data, or undefined when the key or value is absent. */
export function regQuery(key: string, value?: string): string | undefined {
  const r = wine('reg', ['query', key, ...(value === undefined ? ['/ve'] : ['/v', value])]);
  if (r.code !== 0) return undefined;
  const line = r.text.split('\n').find((l) => /\sREG_\w+\s/.test(l));
  return line?.replace(/^\s*\S.*?\s+REG_\w+\s+/, '').trim();
}

/** Whether a key exists at all. */
export const regKeyExists = (key: string) => wine('reg', ['query', key]).code === 0;

/** Native messaging frames: 4-byte little-endian length, then JSON. */
export function frames(values: unknown[]): Buffer {
  return Buffer.concat(
    values.map((v) => {
      const body = Buffer.from(JSON.stringify(v));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      return Buffer.concat([len, body]);
    }),
  );
}

export function readFrames(buf: Buffer): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (at + 4 + len > buf.length) throw new Error(`a truncated frame at byte ${at}`);
    out.push(JSON.parse(buf.subarray(at + 4, at + 4 + len).toString('utf8')));
    at += 4 + len;
  }
  if (at !== buf.length) throw new Error(`${buf.length - at} stray bytes after the frames`);
  return out;
}
