/**
 * The native host processes Chromium started for one anaf-token data folder: found in /proc by
 * their command line (`… native chrome-extension://ID/`) and their ANAF_TOKEN_HOME, so other
 * browsers and tests on the same machine are not counted.
 */
import fs from 'node:fs';

export function hostPids(anafHome: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes('native') || !cmdline.some((a) => a.startsWith('chrome-extension://'))) continue;
      const environ = fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (environ.includes(`ANAF_TOKEN_HOME=${anafHome}`)) pids.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** Resolves with the ms it took until no host of this data folder runs; rejects after `timeoutMs`. */
export async function hostsGone(anafHome: string, timeoutMs = 10_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (hostPids(anafHome).length === 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`host still running after ${timeoutMs} ms: ${hostPids(anafHome).join(', ')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
