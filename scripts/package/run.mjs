// Small helpers for the packaging steps: run a tool (failing loudly), hash a file, time a step.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';

/** Runs a program; throws with its output when it fails. Returns stdout. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${(r.stdout ?? '').slice(-2000)}${(r.stderr ?? '').slice(-2000)}`);
  }
  return opts.allowFail ? r : r.stdout;
}

export function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function sha512Integrity(file) {
  return `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
}

export function requireTool(file, debianPackage) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: apt-get install ${debianPackage} (scripts/setup-debian.sh installs it)`);
}

export async function step(name, fn) {
  const t0 = Date.now();
  const r = await fn();
  console.log(`package: ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return r;
}
