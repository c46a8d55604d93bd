/** The ERP's token fetch from `serve` vs a bare node:http server with a body of the same size. */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServeProcess, erp } from '../../test/helpers/serve-process.js';
import { median, type BenchRow } from './stats.js';

export interface LoadResult {
  rps: number;
  /** Milliseconds, to the microsecond. */
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const WRK = '/usr/bin/wrk';

/** wrk prints durations as 163.00us, 1.98ms or 1.02s. */
function ms(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) throw new Error(`wrk: unreadable duration ${text}`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
}

/**
 * Keep-alive load from wrk (C, epoll, one thread): it leaves the second core to the server and
 * measures latency to the microsecond. autocannon, used before, records whole milliseconds
 * (its mean at concurrency 1 read 0.03 ms with a minimum of 1) and takes a core of its own.
 */
export function load(port: number, pathname: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  if (!fs.existsSync(WRK)) throw new Error('the HTTP figures need wrk: run scripts/setup-debian.sh (apt-get install wrk)');
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    `http://127.0.0.1:${port}${pathname}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(WRK, args, { encoding: 'utf8' }, (err, out) => {
      if (err) return reject(new Error(`wrk failed: ${err.message}`));
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
        p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
        p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
        errors: socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
        non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
      });
    });
  });
}

/** The median of one field over rounds. */
export const medianOf = (rs: LoadResult[], k: keyof LoadResult): number => median(rs.map((r) => r[k]));

/**
 * The VM's speed drifts between rounds by a third: each round's pair ran back to back, so the
 * ratio of their rates is taken per round and its median reported.
 */
const roundRatio = (ours: LoadResult[], base: LoadResult[]): number => median(ours.map((o, i) => o.rps / base[i]!.rps));

/** The req/s row of a comparison: both sides' medians and the per-round ratio, held to `minRatio` or only reported. */
export function rpsRow(figure: string, ours: LoadResult[], base: LoadResult[], minRatio?: number): BenchRow {
  const ratio = roundRatio(ours, base);
  const row = { figure, ours: medianOf(ours, 'rps'), baseline: medianOf(base, 'rps'), unit: 'req/s', ratio };
  return minRatio === undefined ? { ...row, goal: 'report' } : { ...row, goal: `≥ ${minRatio}×`, met: ratio >= minRatio };
}

/** One server under load, and where its results go. */
export interface LoadTarget {
  port: number;
  results: LoadResult[];
}

/**
 * One round of a pair: each server warmed for a second, then loaded for `seconds`, in turn; which
 * goes first alternates with the round, so neither always gets the machine as the other left it.
 */
export async function loadPair(
  round: number,
  ours: LoadTarget,
  base: LoadTarget,
  pathname: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
): Promise<void> {
  const run = async (t: LoadTarget) => {
    await load(t.port, pathname, headers, connections, 1);
    t.results.push(await load(t.port, pathname, headers, connections, seconds));
  };
  if (round % 2 === 0) await run(ours).then(() => run(base));
  else await run(base).then(() => run(ours));
}

export async function startBare(bodyBytes: number): Promise<{ port: number; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'bare-server.mjs')], {
    env: { ...process.env, BODY_BYTES: String(bodyBytes) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)));
  return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

export async function startServe(env: NodeJS.ProcessEnv) {
  const s = await startServeProcess(['--check-interval', '0'], env);
  return s;
}

/** Resident memory of a process, from /proc (Linux). */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export { erp };
