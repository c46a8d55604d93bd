/**
 * Another OS user on this machine, for the terminal-server cases: a program of theirs on the
 * token service's port, or calling it. Needs root on Linux (useradd, runuser); elsewhere
 * `otherUser()` is undefined and the tests that need it are skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp.js';

export const OTHER_USER = 'anafsquat';

export interface OtherUser {
  name: string;
  uid: number;
  /** The squatter script, where the other user can read it. */
  script: string;
}

let cached: OtherUser | undefined | null = null;

export function otherUser(): OtherUser | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  if (spawnSync('getent', ['passwd', OTHER_USER]).status !== 0) {
    const made = spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', OTHER_USER], { encoding: 'utf8' });
    if (made.status !== 0 && spawnSync('getent', ['passwd', OTHER_USER]).status !== 0) throw new Error(`useradd ${OTHER_USER}: ${made.stderr}`);
  }
  const uid = Number(spawnSync('id', ['-u', OTHER_USER], { encoding: 'utf8' }).stdout.trim());
  // The temporary folder is 0700 and the worktree may be closed to others: a copy they can read.
  const dir = tempDir('squatter');
  fs.chmodSync(dir, 0o755);
  const script = path.join(dir, 'squatter.mjs');
  fs.copyFileSync(path.join(import.meta.dirname, 'squatter.mjs'), script);
  fs.chmodSync(script, 0o644);
  cached = { name: OTHER_USER, uid, script };
  return cached;
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
  const child = spawn('runuser', ['-u', u.name, '--', process.execPath, u.script, 'listen', String(port), hosts.join(','), ...(nonce ? [nonce] : [])], {
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
export function requestAs(u: OtherUser, port: number, address: string, urlPath: string, headers: Record<string, string>): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', u.name, '--', process.execPath, u.script, 'request', String(port), address, urlPath, JSON.stringify(headers)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const child = spawn('runuser', ['-u', u.name, '--', process.execPath, u.script, 'idle', String(port), address], { stdio: ['ignore', 'pipe', 'pipe'] });
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
