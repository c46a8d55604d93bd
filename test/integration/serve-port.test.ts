/**
 * Whose program listens on the token service's port, as `doctor` and `service status` tell it:
 * nobody, this user's serve, or another OS user's program (a terminal server). Linux, where the
 * socket table says; the other user's part needs root (useradd, runuser).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openDatabase } from '../../native-host/src/vault/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import type { Finding } from '../../native-host/src/doctor/check.js';
import { doctorContext, runDoctor } from '../../native-host/src/doctor/run-doctor.js';
import { servePortCheck } from '../../native-host/src/doctor/serve-port-check.js';
import { runCli } from '../helpers/cli.js';
import { otherUser, squat } from '../helpers/other-user.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp.js';

let home: string;
let env: Record<string, string>;
let dataDir: string;
let port: number;
const running: ServeProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as net.AddressInfo;
      s.close(() => resolve(p));
    });
  });
}

async function doctor(): Promise<Finding[]> {
  const ctx = doctorContext({ paths: resolvePaths(dataDir), home, env: { ...process.env, ...env } });
  try {
    return (await runDoctor(ctx, [servePortCheck])).findings;
  } finally {
    await ctx.close();
  }
}

const status = async () =>
  JSON.parse((await runCli(['service', 'status', '--json'], env)).stdout) as {
    port: number;
    answering: boolean;
    listener: { who: string; detail: string };
    notes: string[];
  };

beforeAll(async () => {
  home = tempDir('port-home');
  dataDir = path.join(home, 'data');
  env = { HOME: home, XDG_CONFIG_HOME: '', XDG_RUNTIME_DIR: path.join(home, 'run'), ANAF_TOKEN_HOME: dataDir, ANAF_TOKEN_KEYSTORE: 'file' };
  port = await freePort();
});

afterAll(async () => {
  for (const s of running.splice(0)) await s.stop();
});

describe.skipIf(process.platform !== 'linux')('who listens on the token service port', () => {
  it("nobody, then the installed port with nothing on it, then this user's serve", async () => {
    expect((await doctor())[0]).toMatchObject({
      check: 'serve-port',
      status: 'info',
      message: expect.stringContaining("nothing listens on this user's default port"),
    });
    expect((await runCli(['clients', 'add', 'erp'], env)).code).toBe(0);
    expect((await runCli(['service', 'install', '--port', String(port)], env)).code).toBe(0);
    expect((await doctor())[0]).toMatchObject({
      subject: `port ${port}`,
      status: 'warn',
      message: `the service is installed for port ${port}, but nothing listens there`,
    });
    expect(await status()).toMatchObject({ port, answering: false, listener: { who: 'nobody' } });

    const s = await startServeProcess(['--port', String(port), '--check-interval', '0'], env);
    running.push(s);
    const uid = process.getuid!();
    expect((await doctor())[0]).toMatchObject({
      status: 'ok',
      message: `anaf-token serve of this user answers on the installed service's port (this same user: uid ${uid} on 127.0.0.1:${port}, uid ${uid} on [::1]:${port})`,
    });
    const up = await status();
    expect(up).toMatchObject({ answering: true, listener: { who: 'us' } });
    expect((await runCli(['service', 'status'], env)).stdout).toContain(`listening on / ascultă pe port ${port}: this same user`);
    await running.pop()!.stop();
  });

  it('a client key an older version kept as a hash only is named, with what to run', async () => {
    const db = openDatabase(path.join(dataDir, 'vault.sqlite'));
    db.prepare('INSERT INTO api_clients (name, key_hash, created_at) VALUES (?, ?, ?)').run('old-erp', crypto.randomBytes(32), Date.now());
    db.close();
    const keys = (await doctor()).find((f) => f.subject === 'client keys');
    expect(keys).toMatchObject({ status: 'warn', message: expect.stringContaining('old-erp') });
    expect(keys!.advice!.en).toContain('anaf-token clients add old-erp');
    expect((await runCli(['clients', 'remove', 'old-erp'], env)).code).toBe(0);
  });

  it.skipIf(!otherUser())("another OS user's program on the port: doctor fails naming them, service status says so", async () => {
    const u = otherUser()!;
    const sq = await squat(u, port, ['127.0.0.1']);
    try {
      const f = (await doctor())[0]!;
      expect(f).toMatchObject({ status: 'fail', message: expect.stringContaining(`held by another user: user ${u.name} (uid ${u.uid}) on 127.0.0.1:${port}`) });
      expect(f.advice!.en).toContain('anaf-token service install --port N');
      const st = await status();
      expect(st).toMatchObject({ answering: false, listener: { who: 'other', detail: `another user: user ${u.name} (uid ${u.uid}) on 127.0.0.1:${port}` } });
      expect(st.notes.join('\n')).toContain('service install --port N');
      // And serve says who holds it instead of starting on ::1 alone.
      await expect(startServeProcess(['--port', String(port), '--check-interval', '0'], env)).rejects.toThrow(`by another user: user ${u.name}`);
    } finally {
      await sq.stop();
    }
    expect(fs.existsSync(path.join(dataDir, 'vault.sqlite'))).toBe(true);
  });
});
