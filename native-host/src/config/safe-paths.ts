/**
 * Is a folder safe to trust and to write in? Another user of the same computer must not be
 * able to put files in it (a code cache, a config naming a PKCS#11 driver, a manifest or a
 * service unit that runs their program as ours), replace a file in it, or swap the whole folder
 * for another one by renaming it away. Before we use a folder:
 * - it exists, or we make it (mode 0700, missing parents too, whatever the umask);
 * - `lstat` says it is a real directory, not a symbolic link;
 * - on POSIX, it is ours (owner = our effective uid) and neither group nor others may write it;
 * - every folder above it (and, through a symbolic link on the way, every folder above the
 *   link's target) belongs to us or to root, and group and others cannot write it unless the
 *   sticky bit is set (as on /tmp: others may add entries, but only the owner may rename or
 *   remove what is ours). Otherwise whoever can write there can rename our folder and put
 *   another in its place.
 * Files are written beside their target, created exclusively (never through a planted link),
 * given their mode explicitly, and renamed into place.
 *
 * On Windows none of the owner and mode checks apply (there are no POSIX modes; node reports
 * uid 0 and made-up modes): what protects the data folder there is its place under
 * %LOCALAPPDATA%, whose ACL (the user, SYSTEM and Administrators only) the folders we make
 * inherit. Only "a real directory" is checked there.
 *
 * The boot file (run-bundle.ts) uses this for the code cache, so it stays free of the error
 * catalogue: problems are plain strings here, and `ensureSafeDir` (paths.ts) makes them UNSAFE_FOLDER.
 */
import fs from 'node:fs';
import path from 'node:path';

const POSIX = process.platform !== 'win32';
/** 0 on Windows: opening never follows a link there either way (no checks to race with). */
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

export const PRIVATE_DIR_MODE = 0o700;

const me = (): number => process.geteuid?.() ?? process.getuid?.() ?? 0;
const octal = (mode: number) => `mode ${(mode & 0o7777).toString(8).padStart(4, '0')}`;
const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

export interface FolderOptions {
  /** Make it (and missing parents, 0700) when it does not exist. Without it, a missing folder is no problem: nothing is in it. */
  create?: boolean;
  /** Also take reading away from group and others (chmod 0700) once the rest is fine: for folders with secrets. */
  private?: boolean;
}

/** What is wrong with a folder above ours, or undefined. */
function ancestorProblem(dir: string, st: fs.Stats): string | undefined {
  if (!st.isDirectory()) return `${dir}: is not a folder`;
  if (!POSIX) return undefined;
  if (st.uid !== me() && st.uid !== 0) return `${dir}: a folder above is owned by uid ${st.uid}, neither you (uid ${me()}) nor root`;
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `${dir}: group or others can write it without the sticky bit (${octal(st.mode)})`;
  return undefined;
}

/**
 * Every folder the system walks through to reach `dir`'s parent: each one above it, and for a
 * symbolic link on the way, its target's folders too.
 */
function ancestorsProblem(dir: string): string | undefined {
  const seen = new Set<string>();
  const walk = (start: string): string | undefined => {
    for (let cur = start; !seen.has(cur); cur = path.dirname(cur)) {
      seen.add(cur);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(cur);
      } catch (e) {
        return `${cur}: ${errno(e) ?? 'cannot be read'}`;
      }
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(cur);
        } catch (e) {
          return `${cur}: a link that leads nowhere (${errno(e) ?? 'error'})`;
        }
        const p = walk(target);
        if (p) return p;
      } else {
        const p = ancestorProblem(cur, st);
        if (p) return p;
      }
      if (path.dirname(cur) === cur) break;
    }
    return undefined;
  };
  return walk(path.dirname(dir));
}

/** The deepest folder of `dir`'s path that exists (itself included). */
function deepestExisting(dir: string): string {
  for (let cur = dir; ; cur = path.dirname(cur)) {
    try {
      fs.lstatSync(cur);
      return cur;
    } catch {
      if (path.dirname(cur) === cur) return cur;
    }
  }
}

/** What is wrong with using `dir`, in a short English phrase that names the folder; undefined when nothing is. */
export function folderProblem(dir: string, opts: FolderOptions = {}): string | undefined {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch (e) {
    if (errno(e) !== 'ENOENT') return `${abs}: ${errno(e) ?? 'cannot be read'}`;
    if (!opts.create) return undefined;
    // Whatever we make must not land in a folder that can be swapped: look before making it.
    const existing = deepestExisting(abs);
    const above = POSIX ? ancestorsProblem(path.join(existing, 'x')) : undefined;
    if (above) return above;
    try {
      fs.mkdirSync(abs, { recursive: true, mode: PRIVATE_DIR_MODE });
      st = fs.lstatSync(abs);
    } catch (e2) {
      return `${abs}: cannot be made (${errno(e2) ?? (e2 as Error).message})`;
    }
  }
  if (st.isSymbolicLink()) return `${abs}: is a symbolic link, not a folder`;
  if (!st.isDirectory()) return `${abs}: is not a folder`;
  if (!POSIX) return undefined;
  if (st.uid !== me()) return `${abs}: owned by uid ${st.uid}, not by you (uid ${me()})`;
  if ((st.mode & 0o022) !== 0) return `${abs}: writable by group or others (${octal(st.mode)})`;
  const above = ancestorsProblem(abs);
  if (above) return above;
  if (opts.private && (st.mode & 0o077) !== 0) {
    try {
      fs.chmodSync(abs, PRIVATE_DIR_MODE);
    } catch (e) {
      return `${abs}: cannot be made private (${errno(e) ?? 'error'})`;
    }
  }
  return undefined;
}

/** What is wrong with trusting an open file's contents: not a regular file, not ours, or writable by others. */
export function openFileProblem(fd: number, file: string): string | undefined {
  const st = fs.fstatSync(fd);
  if (!st.isFile()) return `${file}: is not a regular file`;
  if (!POSIX) return undefined;
  if (st.uid !== me()) return `${file}: owned by uid ${st.uid}, not by you (uid ${me()})`;
  if ((st.mode & 0o022) !== 0) return `${file}: writable by group or others (${octal(st.mode)})`;
  return undefined;
}

/**
 * A file's bytes, read only when it is a regular file of ours that others cannot write, opened
 * without following a symbolic link. `problem` says why not; a missing file is neither.
 */
export function readOwnFile(file: string): { data?: Buffer; problem?: string } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') return {};
    if (code === 'ELOOP' || code === 'EMLINK') return { problem: `${file}: is a symbolic link` };
    return { problem: `${file}: ${code ?? 'cannot be read'}` };
  }
  try {
    const problem = openFileProblem(fd, file);
    return problem ? { problem } : { data: fs.readFileSync(fd) };
  } catch (e) {
    return { problem: `${file}: ${errno(e) ?? 'cannot be read'}` };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `data` to `file` with exactly `mode` (the umask does not change it): into a new file
 * beside it, made exclusively (a planted link or file with that name makes it fail, never
 * writes through it), then renamed over the target, which replaces a link rather than following it.
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode: number): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      if (POSIX) fs.fchmodSync(fd, mode);
      fs.writeFileSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
