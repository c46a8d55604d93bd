/**
 * One running call per key inside this process: concurrent callers share its promise. The
 * store's lease (tokens/lease.ts) does the same across processes and machines; this keeps 50 ERP requests
 * from queueing 50 lease waits behind one refresh.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const cur = this.running.get(key);
    if (cur) return cur;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, p);
    return p;
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  /** Resolves when every running call has settled (for a clean shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }
}
