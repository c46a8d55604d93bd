/**
 * The built CLI runs its bundle through a V8 code cache (native-host/src/boot/run-bundle.ts).
 * A cache must only ever make it faster: a missing, foreign or garbled cache, or a folder that
 * cannot be written, changes nothing of what a command prints or returns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
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
    expect(fs.readdirSync(cacheDir).sort()).toEqual(
      [path.basename(recent), 'notes.txt', `${bundle}.token.${process.version}-${process.arch}.v8cache`].sort(),
    );
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
