/** The folder and file checks of native-host/src/config/safe-paths.ts, and the log's rotation. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { usePrivateUmask, withUserUmask } from '../../native-host/src/boot/umask.js';
import { ensureSafeDir } from '../../native-host/src/config/paths.js';
import { folderProblem, readOwnFile, writeFileAtomic } from '../../native-host/src/config/safe-paths.js';
import { createLogger } from '../../native-host/src/log/logger.js';
import { tempDir } from '../helpers/temp.js';

const posix = process.platform !== 'win32';
const mode = (p: string) => fs.statSync(p).mode & 0o7777;

describe.skipIf(!posix)('folder checks (POSIX)', () => {
  it('makes a missing folder and its parents 0700 whatever the umask, and makes an existing one private', () => {
    const root = tempDir('safe');
    const dir = path.join(root, 'a', 'b', 'c');
    const old = process.umask(0);
    try {
      expect(folderProblem(dir, { create: true, private: true })).toBeUndefined();
    } finally {
      process.umask(old);
    }
    for (const p of [path.join(root, 'a'), path.join(root, 'a', 'b'), dir]) expect(mode(p)).toBe(0o700);
    fs.chmodSync(dir, 0o755);
    expect(folderProblem(dir, { private: true })).toBeUndefined();
    expect(mode(dir)).toBe(0o700);
    // Not private: readable folders (a browser's) keep their read bits.
    fs.chmodSync(dir, 0o755);
    expect(folderProblem(dir)).toBeUndefined();
    expect(mode(dir)).toBe(0o755);
  });

  it('a missing folder is no problem unless it is to be made; nothing is made under an unsafe parent', () => {
    const root = tempDir('safe');
    expect(folderProblem(path.join(root, 'none'))).toBeUndefined();
    expect(fs.existsSync(path.join(root, 'none'))).toBe(false);
    const open = path.join(root, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    expect(folderProblem(path.join(open, 'x', 'y'), { create: true })).toMatch(/open: group or others can write it without the sticky bit \(mode 0777\)/);
    expect(fs.readdirSync(open)).toEqual([]);
    fs.chmodSync(open, 0o1777);
    expect(folderProblem(path.join(open, 'x', 'y'), { create: true })).toBeUndefined();
  });

  it('refuses a folder others can write, a symlink, a file, and a folder reached through a link into an unsafe place', () => {
    const root = tempDir('safe');
    const dir = path.join(root, 'd');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chmodSync(dir, 0o770);
    expect(folderProblem(dir)).toMatch(/writable by group or others \(mode 0770\)/);
    fs.chmodSync(dir, 0o700);
    fs.symlinkSync(dir, path.join(root, 'link'));
    expect(folderProblem(path.join(root, 'link'))).toMatch(/is a symbolic link/);
    fs.writeFileSync(path.join(root, 'file'), '');
    expect(folderProblem(path.join(root, 'file'))).toMatch(/is not a folder/);
    // A link above the folder is followed: what it leads to is checked too.
    const open = path.join(root, 'open');
    fs.mkdirSync(path.join(open, 'inner', 'data'), { recursive: true, mode: 0o700 });
    fs.chmodSync(open, 0o777);
    fs.symlinkSync(path.join(open, 'inner'), path.join(root, 'via'));
    expect(folderProblem(path.join(root, 'via', 'data'))).toMatch(/open: group or others can write it/);
    expect(() => ensureSafeDir(path.join(root, 'via', 'data'), {})).toThrowError(expect.objectContaining({ code: 'UNSAFE_FOLDER' }));
  });
});

describe.skipIf(!posix)('the umask', () => {
  it("is 077 for us, and the user's own for a program of theirs we start (the browser)", () => {
    const shellUmask = () => spawnSync('/bin/sh', ['-c', 'umask'], { encoding: 'utf8' }).stdout.trim();
    const original = process.umask(0o002);
    try {
      usePrivateUmask();
      usePrivateUmask(); // the bundle calls it again after the boot file: the user's stays remembered
      expect(shellUmask()).toBe('0077');
      expect(withUserUmask(shellUmask)).toBe('0002');
      expect(shellUmask()).toBe('0077');
    } finally {
      process.umask(original);
      delete (globalThis as Record<symbol, unknown>)[Symbol.for('anaf-token.user-umask')];
    }
  });
});

describe('files', () => {
  it('are written with exactly their mode, replacing a link at their name without writing through it', () => {
    const root = tempDir('safe-file');
    const target = path.join(root, 'target');
    fs.writeFileSync(target, 'theirs');
    const file = path.join(root, 'f');
    fs.symlinkSync(target, file);
    const old = process.umask(0o077);
    try {
      writeFileAtomic(file, 'ours', 0o644);
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(target, 'utf8')).toBe('theirs');
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe('ours');
    if (posix) expect(mode(file)).toBe(0o644);
    expect(fs.readdirSync(root).sort()).toEqual(['f', 'target']);
  });

  it.skipIf(!posix)('are read only when ours, regular, not writable by others, and not through a link', () => {
    const root = tempDir('safe-read');
    const file = path.join(root, 'f');
    expect(readOwnFile(file)).toEqual({});
    fs.writeFileSync(file, 'x', { mode: 0o600 });
    expect(readOwnFile(file).data?.toString()).toBe('x');
    fs.chmodSync(file, 0o666);
    expect(readOwnFile(file).problem).toMatch(/writable by group or others/);
    fs.chmodSync(file, 0o600);
    fs.symlinkSync(file, path.join(root, 'l'));
    expect(readOwnFile(path.join(root, 'l')).problem).toMatch(/symbolic link/);
    fs.mkdirSync(path.join(root, 'd'));
    expect(readOwnFile(path.join(root, 'd')).problem).toBeDefined();
  });
});

describe('the log', () => {
  it('rotates past its size, keeps that many old files, and a second writer follows the rotation', () => {
    const root = tempDir('log');
    const file = path.join(root, 'logs', 'x.log');
    const a = createLogger({ component: 'a', file, maxBytes: 20_000, keep: 2 });
    const b = createLogger({ component: 'b', file, maxBytes: 20_000, keep: 2 });
    for (let i = 0; i < 2_000; i++) (i % 2 ? a : b).log('info', 'line', { i, pad: 'y'.repeat(40) });
    const names = fs.readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['x.log', 'x.log.1', 'x.log.2']);
    // Each writer looks every 64 lines: a file ends at most that far past the limit.
    for (const n of names) expect(fs.statSync(path.join(path.dirname(file), n)).size).toBeLessThan(20_000 + 2 * 64 * 120);
    // Both writers write into the current file, not into one rotated away by the other.
    const current = fs.readFileSync(file, 'utf8');
    expect(current).toContain(' a pid=');
    expect(current).toContain(' b pid=');
    if (posix) for (const n of names) expect(mode(path.join(path.dirname(file), n))).toBe(0o600);
  });
});
