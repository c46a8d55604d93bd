/**
 * The peer lookup over both /proc tables, one connection at a time: what serve's batched lookup
 * (serve/peer.ts) does for many at once, kept here to test the needles and the tables' quirks.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { PROC_TCP, PROC_TCP6, peerNeedles, uidAt, type Endpoint, type TableSource } from '../../native-host/src/serve/proc-net.js';

const LITTLE = os.endianness() === 'LE';
const procFiles: TableSource = { tcp: () => fs.readFileSync(PROC_TCP, 'latin1'), tcp6: () => fs.readFileSync(PROC_TCP6, 'latin1') };

/** The files to look in for a peer, most likely first: an IPv4 peer is in tcp, unless its socket is dual-stack (then tcp6). */
export function peerFiles(theirs: Endpoint): ('tcp' | 'tcp6')[] {
  return net.isIPv4(theirs.address) ? ['tcp', 'tcp6'] : ['tcp6', 'tcp'];
}

/**
 * In one file's text, the uid of the socket at the far end of a loopback connection: the entry
 * whose local address:port is the connection's remote one and whose remote is our local one.
 * Undefined when no live entry says.
 */
export function findPeerUid(text: string, v6File: boolean, ours: Endpoint, theirs: Endpoint, little = LITTLE): number | undefined {
  for (const needle of peerNeedles(v6File, ours, theirs, little)) {
    const uid = uidAt(text, needle);
    if (uid !== null) return uid;
  }
  return undefined;
}

/** findPeerUid over both files, read now . */
export function peerUid(ours: Endpoint, theirs: Endpoint, source: TableSource = procFiles): number | undefined {
  for (const file of peerFiles(theirs)) {
    const text = source[file]();
    if (text === undefined) continue;
    const uid = findPeerUid(text, file === 'tcp6', ours, theirs, source.little);
    if (uid !== undefined) return uid;
  }
  return undefined;
}
