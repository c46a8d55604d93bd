/**
 * The macOS login keychain through Apple's own `security` tool, not a native addon: nothing to
 * build or ship per architecture, and the item's access list names /usr/bin/security (signed by
 * Apple, the same after every update of ours), so macOS does not ask the user again each time a
 * new, differently signed anaf-token binary reads the key.
 *
 * The secret never goes on a command line (other users may read process arguments with `ps`):
 * it is written through `security -i`, which reads its command from stdin.
 */
import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';

const SECURITY = '/usr/bin/security';
const TIMEOUT_MS = 15_000;
/** errSecItemNotFound, as `security` reports it in its exit status. */
const NOT_FOUND = 44;

/** Only what `security -i` takes unquoted: the names we use and base64 values. */
const PLAIN = /^[A-Za-z0-9+/=:._-]{1,256}$/;

export interface SecurityRun {
  (args: string[], input?: string): { status: number | null; stdout: string; stderr: string };
}

/** Loaded on first use: every host start loads the key store, and only macOS runs `security`. */
const childProcess = () => createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;

export const runSecurity: SecurityRun = (args, input) => {
  const r = childProcess().spawnSync(SECURITY, args, { input, encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`security: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

export function keychainFindPassword(service: string, account: string, run: SecurityRun = runSecurity): string | undefined {
  const r = run(['find-generic-password', '-s', service, '-a', account, '-w']);
  if (r.status === NOT_FOUND) return undefined;
  if (r.status !== 0) throw new Error(`security find-generic-password: ${r.stderr.trim().slice(0, 200) || `exit ${r.status}`}`);
  return r.stdout.replace(/\n$/, '');
}

/** The `security -i` line that stores (or replaces, -U) the item. */
export function addPasswordCommand(service: string, account: string, secret: string): string {
  for (const v of [service, account, secret]) if (!PLAIN.test(v)) throw new Error('keychain item names and values must be plain text');
  return `add-generic-password -U -s ${service} -a ${account} -w ${secret}\n`;
}

export function keychainAddPassword(service: string, account: string, secret: string, run: SecurityRun = runSecurity): void {
  const r = run(['-i'], addPasswordCommand(service, account, secret));
  // Interactive mode may exit 0 after a failed command: reading the item back is the proof.
  if (r.status !== 0 || keychainFindPassword(service, account, run) !== secret) {
    throw new Error(`security add-generic-password: ${r.stderr.trim().slice(0, 200) || 'the item did not read back'}`);
  }
}
