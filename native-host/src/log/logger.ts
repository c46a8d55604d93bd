/**
 * A line logger that cannot leak what it was never given, and scrubs what it might have been:
 * every secret the process handles is registered here, and JWT-shaped strings are masked too.
 */
import fs from 'node:fs';
import path from 'node:path';

const secrets = new Set<string>();
const JWT_RE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

/** Remember a value that must never appear in a log line or an error message. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function redact(text: string): string {
  let out = text.replace(JWT_RE, '[jwt]');
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[secret]');
  return out;
}

export type Level = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  log(level: Level, event: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

export interface LoggerOptions {
  /** A file to append to (the native mode must keep stdout for the protocol). */
  file?: string;
  /** Also write to stderr (CLI with --verbose). */
  stderr?: boolean;
  component: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  let fd: number | undefined;
  if (opts.file) {
    try {
      fs.mkdirSync(path.dirname(opts.file), { recursive: true, mode: 0o700 });
      fd = fs.openSync(opts.file, 'a', 0o600);
    } catch {
      fd = undefined; // logging must never break the host
    }
  }
  return {
    log(level, event, fields = {}) {
      const parts = [new Date().toISOString(), level, opts.component, `pid=${process.pid}`, event];
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${JSON.stringify(v)}`);
      const line = redact(parts.join(' ')) + '\n';
      if (fd !== undefined) {
        try {
          fs.writeSync(fd, line);
        } catch {
          /* disk full or closed: drop the line */
        }
      }
      if (opts.stderr) process.stderr.write(line);
    },
  };
}

export const silentLogger: Logger = { log() {} };
