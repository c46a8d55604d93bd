/**
 * The gateway's figures: upload throughput through the gateway (accepted into the durable
 * outbox, then sent by its worker) beside uploading the same number of documents straight to
 * the stand-in with the same concurrency; and how long an accepted job waits before its
 * upload starts (and before ANAF's answer is stored) while ANAF is up. In-process, over real
 * HTTPS to the stand-in, on the SQLite store (synchronous=FULL: every accept is on disk first).
 */
import { performance } from 'node:perf_hooks';
import { uploadInvoice, apiEndpoints } from '../../native-host/src/efactura/index.js';
import { Gateway } from '../../native-host/src/gateway/service.js';
import { SqliteGatewayStore } from '../../native-host/src/gateway/sqlite-store.js';
import { DEFAULT_TIMING } from '../../native-host/src/gateway/timing.js';
import { ANAF_LIMITS } from '../../native-host/src/gateway/types.js';
import { validAccessToken } from '../../native-host/src/tokens/grant.js';
import { CIF, invoice, startGatewayWorld } from '../../test/helpers/gateway-world.js';
import { median, percentile } from './stats.js';

export interface GatewayFigures {
  gatewayPerSec: number;
  /** How fast the ERP's uploads are accepted (on disk, answered). */
  acceptPerSec: number;
  /** One upload at a time: accepted → upload started, and → ANAF's index stored, ms. */
  idleWaitP50: number;
  idleWaitP99: number;
  idleSentP50: number;
  directPerSec: number;
  ratio: number;
  /** Under the throughput load (a queue forms): accepted → upload started, ms. */
  waitP50: number;
  waitP99: number;
  /** Accepted → ANAF's index stored, ms. */
  sentP50: number;
  sentP99: number;
  docs: number;
  concurrency: number;
  latencyMs: number;
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const LANES = Number(process.env.BENCH_GATEWAY_LANES ?? 4);

/** `latencyMs`: how long the stand-in takes to answer an upload (ANAF's own round trip is far longer than the stand-in's). */
export async function gatewayBench(runs: number, latencyMs = 0, docs = 200, concurrency = 16): Promise<GatewayFigures> {
  const w = await startGatewayWorld();
  const app = w.app();
  const store = SqliteGatewayStore.open(app.paths);
  const wire = { extraCa: w.pki.ca.certPem, timeoutMs: 30_000 };
  // No polling while measuring: only the uploads are compared.
  // ANAF's 1000 calls a minute would cap both sides at ~17 a second: lifted on both for this figure.
  w.anaf.api.setOptions({ limits: { perMinute: 1_000_000_000 } });
  if (latencyMs > 0) w.anaf.api.setFaults({ endpoints: ['upload'], slowMs: latencyMs });
  const rules = { ...ANAF_LIMITS, perMinute: 1_000_000_000 };
  let onSent = (): void => {};
  const gateway = new Gateway({
    app,
    store,
    wire,
    rules,
    onChange: (j) => j.state === 'sent' && onSent(),
    timing: { ...DEFAULT_TIMING, batch: concurrency / LANES, lanes: LANES, pollBaseMs: 3_600_000, idleMs: 20 },
  });
  const token = (await validAccessToken(app.tokenDeps, w.profile)).accessToken;
  const call = { endpoints: apiEndpoints(`${w.anaf.url}/test`), accessToken: token, wire };
  gateway.worker.start();
  const gw: number[] = [];
  const direct: number[] = [];
  const waits: number[] = [];
  const sents: number[] = [];
  const accepts: number[] = [];
  const single: number[] = [];
  const singleSent: number[] = [];
  let seq = 0;
  try {
    for (let r = 0; r < runs; r++) {
      const a = Array.from({ length: docs }, () => invoice(`B-${++seq}`));
      const b = Array.from({ length: docs }, () => invoice(`B-${++seq}`));
      // Straight to ANAF's stand-in.
      let t0 = performance.now();
      await pool(a, concurrency, async (xml) => {
        await uploadInvoice(call, { xml, cif: CIF });
      });
      direct.push((docs / (performance.now() - t0)) * 1000);
      // Through the gateway: each accepted (on disk), then sent by the worker; done when all are sent.
      t0 = performance.now();
      const ids: string[] = [];
      let left = docs;
      let allSent = (): void => {};
      const sentAll = new Promise<void>((res) => (allSent = res));
      onSent = () => {
        if (--left === 0) allSent();
      };
      await pool(b, concurrency, async (xml) => {
        ids.push((await gateway.upload({ profile: w.profile, kind: 'efactura', cif: CIF, xml: Buffer.from(xml) })).job.id);
      });
      accepts.push((docs / (performance.now() - t0)) * 1000);
      await sentAll;
      gw.push((docs / (performance.now() - t0)) * 1000);
      for (const id of ids) {
        const j = (await store.get(id))!;
        if (j.state !== 'sent') throw new Error(`bench: job ${id} is ${j.state} (${j.errorCode ?? ''})`);
        waits.push(j.sendingAt! - j.createdAt);
        sents.push(j.sentAt! - j.createdAt);
      }
    }
    // One upload at a time (no queue): how long an accepted job waits for the worker.
    for (let i = 0; i < 50; i++) {
      let done = (): void => {};
      const sent = new Promise<void>((res) => (done = res));
      onSent = done;
      const id = (await gateway.upload({ profile: w.profile, kind: 'efactura', cif: CIF, xml: Buffer.from(invoice(`B-${++seq}`)) })).job.id;
      await sent;
      const j = (await store.get(id))!;
      single.push(j.sendingAt! - j.createdAt);
      singleSent.push(j.sentAt! - j.createdAt);
    }
  } finally {
    await gateway.close();
    await store.close();
    await app.close();
    await w.close();
  }
  const ratios = gw.map((g, i) => g / direct[i]!);
  return {
    gatewayPerSec: median(gw),
    acceptPerSec: median(accepts),
    idleWaitP50: percentile(single, 50),
    idleWaitP99: percentile(single, 99),
    idleSentP50: percentile(singleSent, 50),
    directPerSec: median(direct),
    ratio: median(ratios),
    waitP50: percentile(waits, 50),
    waitP99: percentile(waits, 99),
    sentP50: percentile(sents, 50),
    sentP99: percentile(sents, 99),
    docs,
    concurrency,
    latencyMs,
  };
}

// Run alone: `bash scripts/with-node.sh npx tsx scripts/bench/gateway.ts`.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const latency of [0, 20]) {
    const f = await gatewayBench(Number(process.env.BENCH_RUNS ?? 5), latency);
    process.stdout.write(`ANAF latency ${latency} ms: ${JSON.stringify(f, null, 2)}\n`);
  }
}
