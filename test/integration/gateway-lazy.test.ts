/**
 * serve starts the gateway only when it is needed: a serve that only hands out tokens has no
 * gateway store and no worker; the first request to a gateway path starts it; and a job the CLI
 * only queued (`efactura upload --no-send`) while serve was running is sent by serve's worker
 * without any gateway request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import { GATEWAY_FILE, SqliteGatewayStore } from '../../native-host/src/gateway/sqlite-store.js';
import { gw } from '../helpers/gateway-erp.js';
import { CIF, invoice, startGatewayWorld, type GatewayWorld } from '../helpers/gateway-world.js';
import { startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

let serve: ServeProcess | undefined;
let w: GatewayWorld | undefined;

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await w?.close();
  w = undefined;
});

const started = (home: string): boolean => / gateway\.start\b/.test(fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8'));

describe('the gateway in serve starts when needed', () => {
  it('has no store and no worker until the first gateway request', async () => {
    const home = tempDir('gateway-lazy');
    const env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', ANAF_TOKEN_GATEWAY_IDLE_MS: '50' };
    const r = await runCli(['clients', 'add', 'erp', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const erp: ClientCredential = { name: 'erp', key: (JSON.parse(r.stdout) as { key: string }).key };
    serve = await startServeProcess(['--check-interval', '0'], env);
    await sleep(300); // several of the idle worker's intervals
    expect(fs.existsSync(path.join(home, GATEWAY_FILE))).toBe(false);
    expect(started(home)).toBe(false);

    const list = await gw<{ jobs: unknown[] }>(serve.port, erp, 'GET', '/v1/jobs?limit=5');
    expect([list.status, list.json.jobs]).toEqual([200, []]);
    expect(fs.existsSync(path.join(home, GATEWAY_FILE))).toBe(true);
    expect(started(home)).toBe(true);
  });

  it('sends a job the CLI only queued while serve was running', async () => {
    w = await startGatewayWorld();
    serve = await startServeProcess(['--check-interval', '0'], w.env);
    await sleep(200);
    expect(started(w.home)).toBe(false); // its store exists (profile add --api), but holds no job

    const file = path.join(w.home, 'q.xml');
    fs.writeFileSync(file, invoice(`Q-${Date.now()}`));
    const up = await w.json<{ job: string; state: string }>(['efactura', 'upload', file, '--cif', CIF, '--no-send']);
    expect(up.state).toBe('queued');

    const store = SqliteGatewayStore.open(resolvePaths(w.home));
    try {
      const end = Date.now() + 15_000;
      for (;;) {
        const j = await store.get(up.job);
        if (j?.state === 'ok') break;
        if (Date.now() > end) throw new Error(`job ${up.job} stayed ${j?.state}`);
        await sleep(50);
      }
    } finally {
      await store.close();
    }
    expect(started(w.home)).toBe(true);
  });
});
