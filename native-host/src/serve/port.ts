/**
 * The default port of `serve`, one per user: on a terminal server every user shares 127.0.0.1,
 * and one port for all would let only one of them run the service.
 *
 *   8787 + (id − first) mod 1000 for an id ≥ first, else 8787
 *
 * where id is the uid (Linux: first = 1000; macOS: first = 501) or, on Windows, the RID (the last
 * number of the user's SID, `whoami /user`; first = 1000). So the first user made on a Linux or
 * macOS computer (and root, and Windows' built-in Administrator) gets 8787, the next 8788, and so
 * on up to 9786. Users whose ids differ by a multiple of 1000 get the same port: the second to start
 * `serve` is refused (SERVE_LISTEN_FAILED names the first) and takes `--port`.
 */
import type { Runner } from '../service/runner.js';

export const BASE_SERVE_PORT = 8787;
const SPREAD = 1000;
const FIRST_ID: Partial<Record<NodeJS.Platform, number>> = { linux: 1000, darwin: 501, win32: 1000 };

export function portForId(id: number | undefined, platform: NodeJS.Platform): number {
  const first = FIRST_ID[platform] ?? 1000;
  if (id === undefined || !Number.isInteger(id) || id < first) return BASE_SERVE_PORT;
  return BASE_SERVE_PORT + ((id - first) % SPREAD);
}

/** The RID from `whoami /user /fo csv /nh`: "desktop\\ion","S-1-5-21-…-1001". */
export function ridFromWhoami(stdout: string): number | undefined {
  const m = /"S-1-5-21(?:-\d+)+-(\d+)"\s*$/m.exec(stdout.trim());
  return m ? Number(m[1]) : undefined;
}

export interface DefaultPortOptions {
  platform?: NodeJS.Platform;
  uid?: number | undefined;
  /** Windows: to ask whoami for the SID (lazily: only when a port is not given). */
  run?: Runner;
}

export function defaultServePort(o: DefaultPortOptions = {}): number {
  const platform = o.platform ?? process.platform;
  if (platform === 'win32') {
    if (!o.run) return BASE_SERVE_PORT;
    const r = o.run('whoami', ['/user', '/fo', 'csv', '/nh']);
    return portForId(r.code === 0 ? ridFromWhoami(r.stdout) : undefined, platform);
  }
  return portForId('uid' in o ? o.uid : process.getuid?.(), platform);
}
