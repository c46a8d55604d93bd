/**
 * Who holds a lease: host name, process id and a random part. A lease whose holder process is
 * gone (killed mid-refresh) can be taken over at once instead of after its expiry; a recycled
 * PID only makes the lease look alive, and then its expiry still ends it.
 */
import os from 'node:os';
import { nodeCrypto } from './node-crypto.js';

export function newLeaseOwner(): string {
  return `${os.hostname()}:${process.pid}:${nodeCrypto().randomBytes(8).toString('hex')}`;
}

export function leaseOwnerGone(owner: string): boolean {
  const m = /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  if (!m || m[1] !== os.hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
