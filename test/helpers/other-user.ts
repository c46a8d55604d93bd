/**
 * A second OS user, for the tests of what another user on the same computer can and cannot do:
 * touch our files, or (on a terminal server) listen on the token service's port or call it.
 * Made once with `useradd -M -s /usr/sbin/nologin` (no home, no login); only root can do that,
 * so these tests run only as root on Linux (skipped otherwise).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp.js';

export const OTHER_USER = 'anaf-other';

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
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
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

let script: string | undefined;

/** The squatter program, copied where the other user can read it (temporary folders are 0700). */
function squatterScript(): string {
  if (script) return script;
  const dir = tempDir('squatter');
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'squatter.mjs');
  fs.copyFileSync(path.join(import.meta.dirname, 'squatter.mjs'), file);
  fs.chmodSync(file, 0o644);
  script = file;
  return file;
}

export interface CapturedRequest {
  method: string;
  path: string;
  rawHeaders: string[];
  peer: string;
}

export interface Squatter {
  /** Everything the ERP sent it, but the challenges. */
  captured: CapturedRequest[];
  stop(): Promise<void>;
}

/** The other user's program listening on the port (at the addresses given), handing out `nonce` or one of its own. */
export function squat(u: OtherUser, port: number, hosts: string[], nonce?: string): Promise<Squatter> {
  const child = spawn('runuser', ['-u', u.name, '--', process.execPath, squatterScript(), 'listen', String(port), hosts.join(','), ...(nonce ? [nonce] : [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const captured: CapturedRequest[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { listening?: number; error?: string; captured?: CapturedRequest };
        buf = buf.slice(nl + 1);
        if (msg.captured) captured.push(msg.captured);
        else if (msg.error) reject(new Error(`squatter: ${msg.error}`));
        else if (msg.listening) {
          resolve({
            captured,
            async stop() {
              child.stdin.end();
              await closed;
            },
          });
        }
      }
    });
    child.on('close', (code) => reject(new Error(`squatter exited ${code}: ${stderr}`)));
  });
}

/** One request made by the other user; `error` when the connection was closed without an answer. */
export function requestAs(
  u: OtherUser,
  port: number,
  address: string,
  urlPath: string,
  headers: Record<string, string>,
): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'runuser',
      ['-u', u.name, '--', process.execPath, squatterScript(), 'request', String(port), address, urlPath, JSON.stringify(headers)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n')[0]!) as { status?: number; body?: string; error?: string });
      } catch {
        reject(new Error(`request as ${u.name}: ${out}${err}`));
      }
    });
  });
}

/** The other user connects and sends nothing: how soon the connection is closed (or that it stays open 5 s). */
export function idleAs(u: OtherUser, port: number, address: string): Promise<{ closedAfterMs?: number; open?: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', u.name, '--', process.execPath, squatterScript(), 'idle', String(port), address], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n')[0]!) as { closedAfterMs?: number; open?: boolean });
      } catch {
        reject(new Error(`idle as ${u.name}: ${out}`));
      }
    });
  });
}
