/**
 * Every entry (the CLI and its commands: native, serve; the PKCS#11 worker) runs with umask 077:
 * whatever it creates is private unless given a wider mode explicitly, whatever the user's umask
 * (000 in a shell profile made install's folders writable by everyone: issue 14, finding 6).
 * The user's own umask is remembered for the programs of theirs we start (the default browser),
 * which should create their files as they always do.
 */
const KEY = Symbol.for('anaf-token.user-umask');
type Holder = { [KEY]?: number };

export function usePrivateUmask(): void {
  const before = process.umask(0o077);
  // The boot file sets it first; the bundle's second call must not take 077 for the user's.
  (globalThis as Holder)[KEY] ??= before;
}

/** Runs `fn` (which starts a program of the user's) under the user's own umask. */
export function withUserUmask<T>(fn: () => T): T {
  const users = (globalThis as Holder)[KEY];
  if (users === undefined) return fn();
  const ours = process.umask(users);
  try {
    return fn();
  } finally {
    process.umask(ours);
  }
}
