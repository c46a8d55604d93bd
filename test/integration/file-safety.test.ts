/**
 * What another user of the same computer can do to anaf-token's files (issue 14, findings 5, 6
 * and 8), with the built CLI as real processes and a real second OS user:
 * - under umask 000, `install` and `service install` leave nothing the other user can write;
 * - a data folder under a folder others can write (without the sticky bit), or owned by another
 *   user, is refused with UNSAFE_FOLDER before anything is read or written in it;
 * - the log file is never opened through a symlink, and is rotated at its size limit.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_ID, NATIVE_HOST_NAME } from '#shared/index.js';
import { LOG_KEEP, LOG_MAX_BYTES } from '../../native-host/src/log/logger.js';
import { CLI, runCli, type CliResult } from '../helpers/cli.js';
import { startNative } from '../helpers/native-client.js';
import { otherCanWrite, otherUser, whyNoOtherUser, type OtherUser } from '../helpers/other-user.js';
import { tempDir } from '../helpers/temp.js';

const why = whyNoOtherUser();
let other: OtherUser;

beforeAll(() => {
  if (!why) other = otherUser()!;
});

/** A folder the other user may enter (as a home folder usually is): only the modes we set protect what is inside. */
function openRoot(prefix: string): string {
  const root = tempDir(prefix);
  fs.chmodSync(root, 0o755);
  return root;
}

/** Runs the CLI as a user with `umask 000` in their shell profile would. */
function runWithUmask000(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Every folder and file under `root` (not following links), with its mode. */
function walk(root: string): { file: string; dir: boolean; mode: number }[] {
  const out: { file: string; dir: boolean; mode: number }[] = [];
  const visit = (p: string) => {
    const st = fs.lstatSync(p);
    out.push({ file: p, dir: st.isDirectory(), mode: st.mode & 0o7777 });
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(root);
  return out;
}

describe.skipIf(why !== '')(`under umask 000 ${why ? `(skipped: ${why})` : ''}`, () => {
  it('install and service install leave nothing another user can write', async () => {
    const root = openRoot('umask');
    const home = path.join(root, 'home');
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chmodSync(home, 0o755);
    const dataDir = path.join(home, '.local', 'share', 'anaf-token');
    const udd = path.join(home, '.config', 'chromium-test');
    const env = {
      HOME: home,
      ANAF_TOKEN_HOME: dataDir,
      ANAF_TOKEN_KEYSTORE: 'file',
      ANAF_TOKEN_CACHE_DIR: path.join(home, '.cache', 'anaf-token'),
      XDG_CONFIG_HOME: '',
      XDG_RUNTIME_DIR: path.join(root, 'no-runtime'),
    };
    const installed = await runWithUmask000(['install', '--user-data-dir', udd, '--json'], env);
    expect(installed.code, installed.stderr).toBe(0);
    const service = await runWithUmask000(['service', 'install', '--port', '18787', '--json'], env);
    expect(service.code, service.stderr).toBe(0);
    // A command that opens the vault and the log, and writes a code cache.
    const listed = await runWithUmask000(['clients', 'add', 'erp', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);

    const manifest = path.join(udd, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`);
    const unit = path.join(home, '.config', 'systemd', 'user', 'anaf-token.service');
    const launcher = JSON.parse(fs.readFileSync(manifest, 'utf8')).path as string;
    const made = walk(home).filter((e) => e.file !== home);
    for (const f of [manifest, unit, launcher, path.join(dataDir, 'config.json'), path.join(dataDir, 'logs', 'anaf-token.log')]) {
      expect(made.map((e) => e.file)).toContain(f);
    }

    // The other user, tried for real: no new file in any folder, no change to any file.
    const wrote = made.filter((e) => otherCanWrite(other, e.file, e.dir ? 'dir' : 'file')).map((e) => e.file);
    expect(wrote).toEqual([]);
    expect(JSON.parse(fs.readFileSync(manifest, 'utf8')).path).toBe(launcher);

    // The modes: nothing writable by group or others, folders we made are private.
    const writable = made.filter((e) => (e.mode & 0o022) !== 0).map((e) => `${e.file} ${e.mode.toString(8)}`);
    expect(writable).toEqual([]);
    const modeOf = (f: string) => fs.statSync(f).mode & 0o777;
    expect(modeOf(manifest)).toBe(0o644);
    expect(modeOf(unit)).toBe(0o644);
    expect(modeOf(launcher)).toBe(0o700);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'logs', 'anaf-token.log'))).toBe(0o600);
    for (const e of made.filter((x) => x.dir)) expect(`${e.file} ${(e.mode & 0o777).toString(8)}`).toBe(`${e.file} 700`);
  });
});

describe.skipIf(why !== '')(`the data folder ${why ? `(skipped: ${why})` : ''}`, () => {
  const expectRefused = (r: CliResult, where: string) => {
    expect(r.code, r.stderr + r.stdout).toBe(9);
    const err = (JSON.parse(r.stdout) as { error: { code: string; detail: string; message: { ro: string; en: string } } }).error;
    expect(err.code).toBe('UNSAFE_FOLDER');
    expect(err.detail).toContain(where);
    expect(err.message.en).toMatch(/chmod/);
    expect(err.message.ro).toMatch(/chmod/);
  };

  it('is refused under a folder others can write without the sticky bit, and used with the sticky bit', async () => {
    const root = openRoot('swap');
    const shared = path.join(root, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o777);
    const dataDir = path.join(shared, 'anaf-token');
    const env = { ANAF_TOKEN_HOME: dataDir, ANAF_TOKEN_KEYSTORE: 'file' };
    expectRefused(await runCli(['list', '--json'], env), shared);
    // Nothing was made in a folder the other user could swap for an empty one.
    expect(fs.existsSync(path.join(dataDir, 'vault.sqlite'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'logs'))).toBe(false);

    // The same folder with the sticky bit (as /tmp): others cannot rename or remove what is ours.
    fs.chmodSync(shared, 0o1777);
    const ok = await runCli(['list', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('is refused when another user owns it, or it is a symlink, or others can write it', async () => {
    const root = openRoot('owner');
    const theirs = path.join(root, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, other.uid, other.gid);
    expectRefused(await runCli(['list', '--json'], { ANAF_TOKEN_HOME: theirs, ANAF_TOKEN_KEYSTORE: 'file' }), theirs);
    expect(fs.readdirSync(theirs)).toEqual([]);

    const real = path.join(root, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const link = path.join(root, 'link');
    fs.symlinkSync(real, link);
    expectRefused(await runCli(['list', '--json'], { ANAF_TOKEN_HOME: link, ANAF_TOKEN_KEYSTORE: 'file' }), link);
    expect(fs.readdirSync(real)).toEqual([]);

    const open = path.join(root, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    expectRefused(await runCli(['list', '--json'], { ANAF_TOKEN_HOME: open, ANAF_TOKEN_KEYSTORE: 'file' }), open);
    expect(fs.readdirSync(open)).toEqual([]);
  });

  it('refused, the native host answers UNSAFE_FOLDER instead of going silent', async () => {
    const root = openRoot('native-unsafe');
    const theirs = path.join(root, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, other.uid, other.gid);
    const s = startNative(process.execPath, [CLI, 'native', `chrome-extension://${EXTENSION_ID}/`], { ANAF_TOKEN_HOME: theirs, ANAF_TOKEN_KEYSTORE: 'file' });
    s.writeRaw(Buffer.from([2, 0, 0, 0, 0x7b, 0x7d]));
    expect(await s.next()).toMatchObject({ id: null, ok: false, error: { code: 'UNSAFE_FOLDER' } });
    expect((await s.end()).code).toBe(9);
    expect(fs.readdirSync(theirs)).toEqual([]);
  });

  it('install refuses a manifest folder others can write, and writes nothing there', async () => {
    const root = openRoot('manifest');
    const udd = path.join(root, 'udd');
    fs.mkdirSync(path.join(udd, 'NativeMessagingHosts'), { recursive: true });
    fs.chmodSync(path.join(udd, 'NativeMessagingHosts'), 0o777);
    const r = await runCli(['install', '--user-data-dir', udd, '--json'], { ANAF_TOKEN_HOME: path.join(root, 'data'), ANAF_TOKEN_KEYSTORE: 'file' });
    expectRefused(r, path.join(udd, 'NativeMessagingHosts'));
    expect(fs.readdirSync(path.join(udd, 'NativeMessagingHosts'))).toEqual([]);
  });
});

describe('the log file', () => {
  const logOf = (dataDir: string) => path.join(dataDir, 'logs', 'anaf-token.log');

  it('is not opened through a symlink planted at its path: the link is replaced, its target left alone, the command works', async () => {
    const root = tempDir('log-link');
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
    const victim = path.join(root, 'victim.txt');
    fs.writeFileSync(victim, 'untouched\n');
    fs.symlinkSync(victim, logOf(dataDir));
    const r = await runCli(['clients', 'add', 'erp', '--json'], { ANAF_TOKEN_HOME: dataDir, ANAF_TOKEN_KEYSTORE: 'file' });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched\n');
    const st = fs.lstatSync(logOf(dataDir));
    expect(st.isFile()).toBe(true);
    if (process.platform !== 'win32') expect(st.mode & 0o777).toBe(0o600);
    const log = fs.readFileSync(logOf(dataDir), 'utf8');
    expect(log).toContain('log.replaced');
    expect(log).toContain('clients.added');
  });

  it(`is rotated at ${LOG_MAX_BYTES} bytes, keeping ${LOG_KEEP} old files`, async () => {
    const root = tempDir('log-rotate');
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
    const log = logOf(dataDir);
    const line = 'x'.repeat(1023) + '\n';
    fs.writeFileSync(log, line.repeat(LOG_MAX_BYTES / 1024), { mode: 0o600 });
    for (let i = 1; i <= LOG_KEEP; i++) fs.writeFileSync(`${log}.${i}`, `old ${i}\n`, { mode: 0o600 });
    const r = await runCli(['clients', 'add', 'erp', '--json'], { ANAF_TOKEN_HOME: dataDir, ANAF_TOKEN_KEYSTORE: 'file' });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(`${log}.1`).size).toBe(LOG_MAX_BYTES);
    for (let i = 2; i <= LOG_KEEP; i++) expect(fs.readFileSync(`${log}.${i}`, 'utf8')).toBe(`old ${i - 1}\n`);
    expect(fs.existsSync(`${log}.${LOG_KEEP + 1}`)).toBe(false);
    const fresh = fs.readFileSync(log, 'utf8');
    expect(fresh).toContain('clients.added');
    expect(fresh.length).toBeLessThan(4096);
  });
});
