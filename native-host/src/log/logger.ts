/**
 * A line logger that cannot leak what it was never given, and scrubs what it might have been:
 * every secret the process handles is registered here, and JWT-shaped strings are masked too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { takeBootNotes } from '../boot/notes.js';
import { folderProblem } from '../config/safe-paths.js';

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

/** Past this size the log is rotated: anaf-token.log becomes .1, .1 becomes .2, and so on. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024;
/** Rotated files kept (.1 to .3): with the current one, at most about 40 MiB of log. */
export const LOG_KEEP = 3;

export interface LoggerOptions {
  /** A file to append to (the native mode must keep stdout for the protocol). */
  file?: string;
  /** Also write to stderr (CLI with --verbose). */
  stderr?: boolean;
  component: string;
  /** Rotation size (LOG_MAX_BYTES); for tests. */
  maxBytes?: number;
  /** Rotated files kept (LOG_KEEP); for tests. */
  keep?: number;
}

type Fields = Record<string, string | number | boolean | undefined>;
type Note = [event: string, fields: Fields];

const POSIX = process.platform !== 'win32';
const C = fs.constants;
/** Append-only, made 0600, never through a symbolic link, never waiting on a FIFO planted there. */
const OPEN_FLAGS = C.O_WRONLY | C.O_APPEND | C.O_CREAT | (C.O_NOFOLLOW ?? 0) | (C.O_NONBLOCK ?? 0);
/** How often a writer looks whether the file is over the limit, or was rotated by another process. */
const CHECK_EVERY_WRITES = 64;
const CHECK_EVERY_BYTES = 64 * 1024;

/**
 * Opens the log for appending. The folder was checked (ours, private, not swappable), so
 * whatever else sits at the log's name (a symbolic link, a FIFO, a file of another user's) was
 * put there by mistake or by an attack: it is removed, never followed, and a fresh file takes
 * its place; `notes` says so in the new file. Undefined when there is no file to write.
 */
function openLogFile(file: string, notes: Note[]): number | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, OPEN_FLAGS, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ELOOP (EMLINK on BSD): a symbolic link; ENXIO: a FIFO nobody reads.
      if (attempt === 0 && (code === 'ELOOP' || code === 'EMLINK' || code === 'ENXIO') && removeEntry(file)) {
        notes.push(['log.replaced', { reason: code === 'ENXIO' ? 'not a regular file' : 'a symbolic link was at the log path' }]);
        continue;
      }
      return undefined;
    }
    const st = fs.fstatSync(fd);
    const ours = st.isFile() && (!POSIX || st.uid === (process.geteuid?.() ?? st.uid));
    if (ours) {
      if (POSIX && (st.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
      return fd;
    }
    fs.closeSync(fd);
    if (attempt === 0 && removeEntry(file)) {
      notes.push(['log.replaced', { reason: st.isFile() ? `owned by uid ${st.uid}` : 'not a regular file' }]);
      continue;
    }
    return undefined;
  }
  return undefined;
}

function removeEntry(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/** file → file.1 → file.2 … file.keep (the oldest is overwritten). */
function shiftRotated(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      /* not there yet */
    }
  }
  fs.renameSync(file, `${file}.1`);
}

export function createLogger(opts: LoggerOptions): Logger {
  const maxBytes = opts.maxBytes ?? LOG_MAX_BYTES;
  const keep = Math.max(1, opts.keep ?? LOG_KEEP);
  const notes: Note[] = [];
  let fd: number | undefined;
  let writes = 0;
  let bytes = 0;

  const open = () => {
    try {
      fd = opts.file ? openLogFile(opts.file, notes) : undefined;
    } catch {
      fd = undefined; // logging must never break the host
    }
  };

  /** Over the limit: rotate. Rotated by another process meanwhile: follow it to the new file. */
  const checkSize = () => {
    writes = 0;
    bytes = 0;
    if (fd === undefined || !opts.file) return;
    try {
      const st = fs.fstatSync(fd);
      let onDisk: fs.Stats | undefined;
      try {
        onDisk = fs.lstatSync(opts.file);
      } catch {
        onDisk = undefined;
      }
      const same = onDisk !== undefined && onDisk.ino === st.ino && onDisk.dev === st.dev;
      if (same && st.size < maxBytes) return;
      if (same) shiftRotated(opts.file, keep);
      fs.closeSync(fd);
    } catch {
      /* rotation is best effort: keep writing where we are */
      return;
    }
    open();
  };

  if (opts.file) {
    // The folder first (it also exists then); a folder that fails the check gets no log at all.
    const problem = folderProblem(path.dirname(opts.file), { create: true, private: true });
    if (problem) notes.push(['log.folder-refused', { problem }]);
    else {
      open();
      checkSize();
    }
  }

  const write = (level: Level, event: string, fields: Fields) => {
    const parts = [new Date().toISOString(), level, opts.component, `pid=${process.pid}`, event];
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${JSON.stringify(v)}`);
    const line = redact(parts.join(' ')) + '\n';
    if (fd !== undefined) {
      try {
        fs.writeSync(fd, line);
      } catch {
        /* disk full or closed: drop the line */
      }
      writes++;
      bytes += line.length;
    }
    if (opts.stderr) process.stderr.write(line);
  };
  const flushNotes = () => {
    for (const [event, fields] of notes.splice(0)) write('warn', event, fields);
  };

  const logger: Logger = {
    log(level, event, fields = {}) {
      if (fd !== undefined && (writes >= CHECK_EVERY_WRITES || bytes >= CHECK_EVERY_BYTES)) {
        checkSize();
        flushNotes();
      }
      write(level, event, fields);
    },
  };
  // What the boot file could not log itself (a refused code cache), and what happened above.
  if (fd !== undefined || opts.stderr) {
    for (const n of takeBootNotes()) write('warn', n.event, n.fields);
  }
  flushNotes();
  return logger;
}

export const silentLogger: Logger = { log() {} };
