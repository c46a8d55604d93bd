/**
 * A schema built on its first use and kept. The native host is a new process for every
 * message from the browser; schemas it does not parse in that process should cost nothing.
 */
export function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
