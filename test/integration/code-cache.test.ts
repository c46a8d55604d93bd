/**
 * The built CLI runs its bundle through a V8 code cache (native-host/src/boot/run-bundle.ts).
 * A cache must only ever make it faster: a missing, foreign or garbled cache, or a folder that
 * cannot be written, changes nothing of what a command prints or returns.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { asOther, otherUser, whyNoOtherUser } from '../helpers/other-user.js';
import { tempDir } from '../helpers/temp.js';

const bundle = fs.readdirSync('dist').find((f) => /^host-.+\.cjs$/.test(f));

function setup() {
  const root = tempDir('code-cache');
  const cacheDir = path.join(root, 'cache');
  const env = { ANAF_TOKEN_HOME: path.join(root, 'data'), ANAF_TOKEN_KEYSTORE: 'file', ANAF_TOKEN_CACHE_DIR: cacheDir };
  return { root, cacheDir, env };
}

// `token` for a profile that does not exist: a typed error and exit 3, every time.
const tokenArgs = ['token', '--profile', 'nu-exista', '--json'];

describe('code cache of the CLI bundle', () => {
  it('is written by the first run of a command, private, named by bundle and Node, and reused as is', async () => {
    expect(bundle).toBeDefined();
    const { cacheDir, env } = setup();
    const first = await runCli(tokenArgs, env);
    expect(first.code).toBe(3);
    const files = fs.readdirSync(cacheDir);
    expect(files).toEqual([`${bundle}.token.${process.version}-${process.arch}.v8cache`]);
    const file = path.join(cacheDir, files[0]!);
    if (process.platform !== 'win32') {
      expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    const written = fs.readFileSync(file);
    expect(written.length).toBeGreaterThan(10_000);

    const second = await runCli(tokenArgs, env);
    expect(second).toEqual(first);
    // Accepted by V8, so left alone.
    expect(fs.readFileSync(file).equals(written)).toBe(true);

    // Another command keeps its own cache.
    await runCli(['list', '--json'], env);
    expect(fs.readdirSync(cacheDir).sort()).toHaveLength(2);
  });

  it("removes an older bundle's caches a week old when it writes its own, and keeps recent ones and other files", async () => {
    const { cacheDir, env } = setup();
    fs.mkdirSync(cacheDir, { recursive: true });
    const old = path.join(cacheDir, `host-OLD00000.cjs.token.${process.version}-${process.arch}.v8cache`);
    const recent = path.join(cacheDir, `host-NEW00000.cjs.native.${process.version}-${process.arch}.v8cache`);
    const other = path.join(cacheDir, 'notes.txt');
    for (const f of [old, recent, other]) fs.writeFileSync(f, 'x');
    const weekAgo = (Date.now() - 8 * 24 * 3600 * 1000) / 1000;
    fs.utimesSync(old, weekAgo, weekAgo);
    fs.utimesSync(other, weekAgo, weekAgo);
    await runCli(tokenArgs, env);
    expect(fs.readdirSync(cacheDir).sort()).toEqual([path.basename(recent), 'notes.txt', `${bundle}.token.${process.version}-${process.arch}.v8cache`].sort());
  });

  it('a garbled cache is rejected by V8, the command runs as before, and a good cache replaces it', async () => {
    const { cacheDir, env } = setup();
    const first = await runCli(tokenArgs, env);
    const file = path.join(cacheDir, fs.readdirSync(cacheDir)[0]!);
    const size = fs.statSync(file).size;
    const garbage = Buffer.alloc(size, 0xa5);
    fs.writeFileSync(file, garbage);
    const again = await runCli(tokenArgs, env);
    expect(again).toEqual(first);
    const rewritten = fs.readFileSync(file);
    expect(rewritten.equals(garbage)).toBe(false);
    expect(rewritten.length).toBeGreaterThan(10_000);
  });

  it('a cache folder that cannot be made costs nothing but speed; ANAF_TOKEN_CODE_CACHE=off writes none', async () => {
    const { root, env } = setup();
    const blocker = path.join(root, 'not-a-folder');
    fs.writeFileSync(blocker, '');
    const blocked = await runCli(tokenArgs, { ...env, ANAF_TOKEN_CACHE_DIR: path.join(blocker, 'cache') });
    expect(blocked.code).toBe(3);
    expect(JSON.parse(blocked.stdout)).toMatchObject({ error: { code: 'PROFILE_NOT_FOUND' } });

    const off = await runCli(tokenArgs, { ...env, ANAF_TOKEN_CODE_CACHE: 'off' });
    expect(off.code).toBe(3);
    expect(fs.existsSync(env.ANAF_TOKEN_CACHE_DIR)).toBe(false);
  });
});

/**
 * V8 checks a cache against the source's length only: a cache made from another text of the
 * same length runs that text. Whoever can put a file in the cache folder could run their code
 * in every anaf-token process (issue 14, finding 4). This makes such a file: run, it prints
 * FOREIGN CODE RAN and exits 42. Made in a separate node with the CLI's own (default) flags.
 */
function plantForeignCache(file: string): Buffer {
  const maker = `
    const fs = require('fs'), vm = require('vm');
    const [bundle, out] = process.argv.slice(1);
    const src = fs.readFileSync(bundle, 'latin1');
    let text = "process.stdout.write('FOREIGN CODE RAN\\\\n'); process.exit(42);";
    text += ' '.repeat(src.length - text.length);
    fs.writeFileSync(out, new vm.Script(text, { filename: bundle }).createCachedData());`;
  const r = spawnSync(process.execPath, ['-e', maker, path.resolve('dist', bundle!), file], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(r.status, r.stderr).toBe(0);
  return fs.readFileSync(file);
}

const why = whyNoOtherUser();

describe.skipIf(why !== '')(`a planted code cache ${why ? `(skipped: ${why})` : ''}`, () => {
  const cacheName = () => `${bundle}.token.${process.version}-${process.arch}.v8cache`;
  const logOf = (env: { ANAF_TOKEN_HOME: string }) => fs.readFileSync(path.join(env.ANAF_TOKEN_HOME, 'logs', 'anaf-token.log'), 'utf8');
  const expectNormal = (r: { code: number; stdout: string }) => {
    expect(r.stdout).not.toContain('FOREIGN CODE RAN');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'PROFILE_NOT_FOUND' } });
  };

  it('really would run foreign code if it were used (the check below is sharp)', async () => {
    const { cacheDir, env } = setup();
    fs.mkdirSync(cacheDir, { mode: 0o700 });
    plantForeignCache(path.join(cacheDir, cacheName()));
    // Our own file in our own private folder is trusted: this is what a planted one would do.
    const r = await runCli(tokenArgs, env);
    expect(r.stdout).toContain('FOREIGN CODE RAN');
    expect(r.code).toBe(42);
  });

  it('in a folder others can write is not used, nothing is written there, and the log says so', async () => {
    const other = otherUser()!;
    const { root, cacheDir, env } = setup();
    fs.chmodSync(root, 0o755);
    fs.mkdirSync(cacheDir);
    fs.chmodSync(cacheDir, 0o777);
    // The other user plants the file, as they could in such a folder.
    const planted = path.join(root, 'planted.v8cache');
    const bytes = plantForeignCache(planted);
    fs.chmodSync(planted, 0o644);
    const target = path.join(cacheDir, cacheName());
    expect(asOther(other, ['cp', planted, target]).code).toBe(0);
    expectNormal(await runCli(tokenArgs, env));
    expect(fs.readFileSync(target).equals(bytes)).toBe(true);
    expect(fs.statSync(target).uid).toBe(other.uid);
    expect(logOf(env)).toMatch(/warn .*code-cache\.refused .*writable by group or others/);
  });

  it('owned by another user in our folder is not used, and is replaced by our own', async () => {
    const other = otherUser()!;
    const { cacheDir, env } = setup();
    fs.mkdirSync(cacheDir, { mode: 0o700 });
    const target = path.join(cacheDir, cacheName());
    const bytes = plantForeignCache(target);
    fs.chownSync(target, other.uid, other.gid);
    expectNormal(await runCli(tokenArgs, env));
    const st = fs.lstatSync(target);
    expect(st.uid).toBe(process.getuid!());
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(target).equals(bytes)).toBe(false);
    expect(logOf(env)).toMatch(/warn .*code-cache\.refused .*owned by uid/);
    // And the replacement is used from then on.
    expectNormal(await runCli(tokenArgs, env));
  });

  it('a symlink at the cache path is not followed: replaced by a file, its target left alone', async () => {
    const { root, cacheDir, env } = setup();
    fs.mkdirSync(cacheDir, { mode: 0o700 });
    const elsewhere = path.join(root, 'elsewhere.v8cache');
    const bytes = plantForeignCache(elsewhere);
    const target = path.join(cacheDir, cacheName());
    fs.symlinkSync(elsewhere, target);
    expectNormal(await runCli(tokenArgs, env));
    expect(fs.lstatSync(target).isFile()).toBe(true);
    expect(fs.readFileSync(elsewhere).equals(bytes)).toBe(true);
    expect(logOf(env)).toMatch(/warn .*code-cache\.refused .*symbolic link/);
  });

  it('a cache folder that is a symlink, owned by another user, or under a folder others can write is not used', async () => {
    const other = otherUser()!;
    const cases: [string, (root: string, cacheDir: string) => void, RegExp][] = [
      [
        'symlink',
        (root, cacheDir) => {
          const real = path.join(root, 'real-cache');
          fs.mkdirSync(real, { mode: 0o700 });
          fs.symlinkSync(real, cacheDir);
        },
        /symbolic link/,
      ],
      [
        'owner',
        (_root, cacheDir) => {
          fs.mkdirSync(cacheDir, { mode: 0o700 });
          fs.chownSync(cacheDir, other.uid, other.gid);
        },
        /owned by uid/,
      ],
      [
        'parent',
        (root, cacheDir) => {
          const parent = path.join(root, 'open');
          fs.mkdirSync(parent);
          fs.chmodSync(parent, 0o777);
          fs.mkdirSync(cacheDir, { mode: 0o700 });
        },
        /others can write it without the sticky bit/,
      ],
    ];
    for (const [name, prepare, reason] of cases) {
      const { root, env } = setup();
      const cacheDir = name === 'parent' ? path.join(root, 'open', 'cache') : path.join(root, 'cache');
      prepare(root, cacheDir);
      const real = fs.realpathSync(cacheDir);
      plantForeignCache(path.join(real, cacheName()));
      if (name === 'owner') fs.chownSync(path.join(real, cacheName()), other.uid, other.gid);
      expectNormal(await runCli(tokenArgs, { ...env, ANAF_TOKEN_CACHE_DIR: cacheDir }));
      expect(logOf(env), name).toMatch(new RegExp(`warn .*code-cache\\.refused .*${reason.source}`));
    }
  });
});
