/**
 * A second OS user, for the tests of what another user on the same computer can and cannot
 * touch. Made once with `useradd -M -s /usr/sbin/nologin` (no home, no login); only root can do
 * that, so these tests run only as root (skipped otherwise).
 */
import { spawnSync } from 'node:child_process';

export const OTHER_USER = 'anaf-files-other';

export interface OtherUser {
  name: string;
  uid: number;
  gid: number;
}

function lookup(name: string): OtherUser | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The second user, made if needed; undefined when this process is not root (or has no useradd/runuser). */
export function otherUser(): OtherUser | undefined {
  if (process.platform === 'win32' || process.getuid?.() !== 0) return undefined;
  if (spawnSync('runuser', ['--help']).status !== 0) return undefined;
  const found = lookup(OTHER_USER);
  if (found) return found;
  // Another test file may make it at the same moment: whoever loses finds it afterwards.
  spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', OTHER_USER], { encoding: 'utf8' });
  return lookup(OTHER_USER);
}

export const whyNoOtherUser = (): string => (otherUser() ? '' : 'needs root, useradd and runuser (a second OS user)');

/** Runs a command as the second user; its exit code says whether it could. */
export function asOther(user: OtherUser, argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('runuser', ['-u', user.name, '--', ...argv], { encoding: 'utf8', input: input ?? '' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Can the second user create a file in this folder, or replace, append to or rename this file? */
export function otherCanWrite(user: OtherUser, target: string, kind: 'dir' | 'file'): boolean {
  const script =
    kind === 'dir'
      ? 'echo pwned > "$1/.pwned-by-other" 2>/dev/null'
      : // any of: write into it, or move it away (which lets a new one take its place)
        'echo pwned >> "$1" 2>/dev/null || mv -f "$1" "$1.moved" 2>/dev/null || rm -f "$1" 2>/dev/null';
  return asOther(user, ['/bin/sh', '-c', script, 'sh', target]).code === 0;
}
