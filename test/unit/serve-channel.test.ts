/**
 * The pieces of the ERP channel that need no server process: the proof and its header, nonces,
 * the failure delay, the refusal summary, the socket table (Linux), peer checks, per-user ports
 * and who holds a port.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { AUTH_SCHEME, authorizationFor, parseAuthorization, proofFor, proofMatches, serverProofFor } from '../../native-host/src/serve/client-keys.js';
import { NonceStore } from '../../native-host/src/serve/nonces.js';
import { TableScanner, peerCheck, scanProcFile, type TableScan } from '../../native-host/src/serve/peer.js';
import { defaultServePort, portForId, ridFromWhoami } from '../../native-host/src/serve/port.js';
import { addressBytes, listenersOn, procHex } from '../../native-host/src/serve/proc-net.js';
import { findPeerUid, peerUid } from '../helpers/proc-net-lookup.js';
import { FailureDelay, UNKNOWN_CLIENT } from '../../native-host/src/serve/rate-limit.js';
import { RefusalLog } from '../../native-host/src/serve/refusal-log.js';
import { describeHolders, parseLsof, parseNetstat, parseTasklistUser, portOwner } from '../../native-host/src/service/port-owner.js';
import type { Logger } from '../../native-host/src/log/logger.js';
import { tempDir } from '../helpers/temp.js';

const KEY = `atk_${'A'.repeat(43)}`;
const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9';

describe('the proof of a client key', () => {
  it('is HMAC-SHA256 with the key\'s characters over "anaf-token-v1\\n" + nonce + "\\n" + Host, as openssl computes it', () => {
    // printf 'anaf-token-v1\n%s\n%s' "$NONCE" 127.0.0.1:8787 | openssl dgst -sha256 -hmac "$KEY" -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='
    expect(proofFor(KEY, NONCE, '127.0.0.1:8787').toString('base64url')).toBe('MN0LxuiM9nNwgzn3lIJ0fow1iMov9ev6aKXbRuNcSfE');
    expect(authorizationFor('erp', KEY, NONCE, '127.0.0.1:8787')).toBe(
      `AnafToken client="erp", nonce="${NONCE}", proof="MN0LxuiM9nNwgzn3lIJ0fow1iMov9ev6aKXbRuNcSfE"`,
    );
  });

  it('matches only its key, nonce and Host', () => {
    const proof = proofFor(KEY, NONCE, '127.0.0.1:8787');
    const key = Buffer.from(KEY);
    expect(proofMatches(key, NONCE, '127.0.0.1:8787', proof)).toBe(true);
    expect(proofMatches(key, NONCE, '127.0.0.1:8788', proof)).toBe(false);
    expect(proofMatches(key, NONCE, 'localhost:8787', proof)).toBe(false);
    expect(proofMatches(key, NONCE.replace('b', 'c'), '127.0.0.1:8787', proof)).toBe(false);
    expect(proofMatches(Buffer.from(KEY.replace('A', 'B')), NONCE, '127.0.0.1:8787', proof)).toBe(false);
    // No key (an unknown client): compared against a key nobody has, never a match.
    expect(proofMatches(undefined, NONCE, '127.0.0.1:8787', proof)).toBe(false);
  });

  it('is read from the header in any parameter order, quoted or not, in base64url or base64', () => {
    const proof = proofFor(KEY, NONCE, 'h');
    const want = { kind: 'proof', client: 'erp.1', nonce: NONCE, proof };
    const b64 = proof.toString('base64');
    const url = proof.toString('base64url');
    for (const header of [
      `AnafToken client="erp.1", nonce="${NONCE}", proof="${url}"`,
      `anaftoken proof="${url}",nonce="${NONCE}" , client="erp.1"`,
      `AnafToken client=erp.1, nonce=${NONCE}, proof=${b64}`,
      `AnafToken client="erp.1", nonce="${NONCE}", proof="${b64.replace(/=$/, '')}"`,
      `AnafToken  client = "erp.1",\tnonce="${NONCE}", proof="${url}"`,
    ]) {
      expect(parseAuthorization(header), header).toEqual(want);
    }
  });

  it('refuses Bearer apart, and anything else as malformed', () => {
    expect(parseAuthorization(undefined)).toEqual({ kind: 'none' });
    expect(parseAuthorization('')).toEqual({ kind: 'none' });
    expect(parseAuthorization(`Bearer ${KEY}`)).toEqual({ kind: 'bearer' });
    expect(parseAuthorization(`bearer ${KEY}`)).toEqual({ kind: 'bearer' });
    const url = proofFor(KEY, NONCE, 'h').toString('base64url');
    for (const header of [
      'AnafToken',
      `Basic ${Buffer.from(`erp:${KEY}`).toString('base64')}`,
      `AnafToken client="erp", nonce="${NONCE}"`,
      `AnafToken client="erp", nonce="${NONCE}", proof="${url}", client="other"`,
      `AnafToken client="erp", nonce="${NONCE}x", proof="${url}"`,
      `AnafToken client="-erp", nonce="${NONCE}", proof="${url}"`,
      `AnafToken client="erp", nonce="${NONCE}", proof="${url.slice(1)}"`,
      `AnafToken client="erp" nonce="${NONCE}" proof="${url}"`,
      `AnafToken client="e\\"rp", nonce="${NONCE}", proof="${url}"`,
      `AnafToken client="erp", nonce="${NONCE}", proof="${url}", x="${'y'.repeat(500)}"`,
    ]) {
      expect(parseAuthorization(header).kind, header).toBe('malformed');
    }
    expect(AUTH_SCHEME).toBe('AnafToken');
  });
});

describe("the service's proof of an answer (cnonce)", () => {
  const CNONCE = 'ZXJwLWNub25jZS0wMDAx';
  const BODY = '{"profile":"firma","accessToken":"eyJ0ZXN0IjoxfQ","expiresAt":"2027-02-23T15:23:19.000Z","tokenType":"Bearer"}';
  const sent = { cnonce: CNONCE, nonce: NONCE, host: '127.0.0.1:8787' };

  it('is HMAC-SHA256 with the key over context, cnonce, nonce, Host, status and the hex SHA-256 of the body, as openssl computes it (docs/erp-api.md)', () => {
    // D=$(printf %s "$BODY" | openssl dgst -sha256 -r | cut -c1-64)
    // printf 'anaf-token-v1-server\n%s\n%s\n%s\n%s\n%s' "$CNONCE" "$NONCE" 127.0.0.1:8787 200 "$D" | openssl dgst -sha256 -hmac "$KEY" -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='
    expect(serverProofFor(KEY, sent, 200, BODY)).toBe('ndumLLm183j3gUjgrJ8Dq0-9mm4S7tTs-Zc4txpsZu4');
    expect(serverProofFor(Buffer.from(KEY), sent, 200, Buffer.from(BODY))).toBe('ndumLLm183j3gUjgrJ8Dq0-9mm4S7tTs-Zc4txpsZu4');
    for (const other of [
      serverProofFor(KEY, { ...sent, cnonce: `${CNONCE}x` }, 200, BODY),
      serverProofFor(KEY, sent, 201, BODY),
      serverProofFor(KEY, sent, 200, `${BODY} `),
    ]) {
      expect(other).not.toBe('ndumLLm183j3gUjgrJ8Dq0-9mm4S7tTs-Zc4txpsZu4');
    }
  });

  it('is asked for with cnonce="…" (16 to 64 base64url characters) beside the other parameters', () => {
    const proof = proofFor(KEY, NONCE, 'h');
    const url = proof.toString('base64url');
    expect(authorizationFor('erp', KEY, NONCE, 'h', CNONCE)).toBe(`AnafToken client="erp", nonce="${NONCE}", proof="${url}", cnonce="${CNONCE}"`);
    expect(parseAuthorization(`AnafToken cnonce=${CNONCE}, client="erp", nonce="${NONCE}", proof="${url}"`)).toEqual({
      kind: 'proof',
      client: 'erp',
      nonce: NONCE,
      proof,
      cnonce: CNONCE,
    });
    expect(parseAuthorization(`AnafToken client="erp", nonce="${NONCE}", proof="${url}", cnonce="${'c'.repeat(64)}"`)).toMatchObject({
      kind: 'proof',
      cnonce: 'c'.repeat(64),
    });
    for (const cnonce of ['', 'c'.repeat(15), 'c'.repeat(65), `${'c'.repeat(20)}+/`, `${'c'.repeat(20)}=`]) {
      expect(parseAuthorization(`AnafToken client="erp", nonce="${NONCE}", proof="${url}", cnonce="${cnonce}"`).kind, cnonce).toBe('malformed');
    }
    expect(parseAuthorization(`AnafToken client="erp", nonce="${NONCE}", proof="${url}", cnonce="${CNONCE}", cnonce="${CNONCE}"`).kind).toBe('malformed');
  });
});

describe('nonces', () => {
  it('live ten minutes in this process only', () => {
    let now = 1_000;
    const store = new NonceStore({ now: () => now });
    const { nonce, expiresAt } = store.issue();
    expect(nonce).toMatch(/^[\w-]{43}$/);
    expect(expiresAt).toBe(601_000);
    expect(store.expiresAt(nonce)).toBe(601_000);
    now = 600_999;
    expect(store.expiresAt(nonce)).toBe(601_000);
    now = 601_000;
    expect(store.expiresAt(nonce)).toBeUndefined();
    // Another process (a restarted serve) knows none of them.
    expect(new NonceStore().expiresAt(store.issue().nonce)).toBeUndefined();
  });

  it('are bounded, and a flood of challenges does not push out the nonces in use', () => {
    const store = new NonceStore({ maxFresh: 100, maxInUse: 10 });
    const inUse = store.issue().nonce;
    store.used(inUse);
    const unused = store.issue().nonce;
    for (let i = 0; i < 1000; i++) store.issue();
    expect(store.size).toEqual({ fresh: 100, inUse: 1 });
    expect(store.expiresAt(unused)).toBeUndefined();
    expect(store.expiresAt(inUse)).toBeDefined();
    // The in-use table is bounded too (only key holders can fill it).
    for (let i = 0; i < 20; i++) store.used(store.issue().nonce);
    expect(store.size.inUse).toBe(10);
  });
});

describe('the failure delay', () => {
  it('answers a few failures at once, then waits 100 ms doubling up to a second, per client name', () => {
    let now = 0;
    const d = new FailureDelay({ now: () => now });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(() => d.fail('erp'))).toEqual([0, 0, 0, 100, 200, 400, 800, 1000, 1000]);
    expect(d.fail('payroll')).toBe(0);
    // Unknown names share one entry: making up names does not reset the delay.
    expect([1, 2, 3, 4].map(() => d.fail(UNKNOWN_CLIENT))).toEqual([0, 0, 0, 100]);
    now = 59_999;
    expect(d.fail('erp')).toBe(1000);
    now = 59_999 + 60_000;
    expect(d.fail('erp')).toBe(0);
  });

  it('holds at most so many refusals; past that the connection is closed unanswered', async () => {
    const d = new FailureDelay({ freeFailures: 0, maxWaiting: 2, baseMs: 20 });
    const held = [d.hold(d.fail('a')!, 'x'), d.hold(d.fail('a')!, 'y')];
    expect(d.waiting).toBe(2);
    expect(d.fail('a')).toBeUndefined();
    expect(await Promise.all(held)).toEqual(['x', 'y']);
    expect(d.waiting).toBe(0);
    expect(d.fail('a')).toBe(160);
  });
});

describe('the refusal summary', () => {
  it('writes the first refusal at once, then one line per period, and what is left at the stop', async () => {
    const lines: Record<string, unknown>[] = [];
    const log: Logger = { log: (_l, event, fields) => lines.push({ event, ...fields }) };
    const r = new RefusalLog(log, 40);
    r.note('proof', 'erp');
    expect(lines).toEqual([{ event: 'serve.refused', total: 1, proof: 1, clients: 'erp:1' }]);
    for (let i = 0; i < 500; i++) r.note(i % 2 ? 'web' : 'peer');
    expect(lines).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 60));
    expect(lines[1]).toEqual({ event: 'serve.refused', total: 500, web: 250, peer: 250 });
    r.note('nonce');
    r.close();
    expect(lines[2]).toEqual({ event: 'serve.refused', total: 1, nonce: 1 });
    // After a quiet period the next one is written at once again.
    const q = new RefusalLog(log, 10);
    q.note('host');
    await new Promise((res) => setTimeout(res, 50));
    q.note('bearer');
    expect(lines.slice(3)).toEqual([
      { event: 'serve.refused', total: 1, host: 1 },
      { event: 'serve.refused', total: 1, bearer: 1 },
    ]);
    q.close();
  });
});

// Two lines as Linux prints them: a client socket 127.0.0.1:54321 → 127.0.0.1:8787 of uid 1002,
// and our accepted end of it (uid 0), plus a listener and a TIME_WAIT leftover.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2253 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:2253 01 00000000:00000000 00:00000000 00000000  1002        0 12 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:2253 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 13 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:D432 0100007F:2253 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:2253 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 21 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:C350 00000000000000000000000001000000:2253 01 00000000:00000000 00:00000000 00000000  1001        0 22 1 0000000000000000 20 4 30 10 -1
   2: 0000000000000000FFFF00000100007F:C351 0000000000000000FFFF00000100007F:2253 01 00000000:00000000 00:00000000 00000000  1003        0 23 1 0000000000000000 20 4 30 10 -1
`;
const fake = { tcp: () => TCP, tcp6: () => TCP6, little: true };
/** The uid on the line at `i` (or undefined for TIME_WAIT), as the real scan reports it. */
function findLineUid(text: string, i: number): number | undefined {
  const f = text
    .slice(text.lastIndexOf('\n', i) + 1, text.indexOf('\n', i))
    .trim()
    .split(/\s+/);
  return f[3] === '06' ? undefined : Number(f[7]);
}

describe('the socket table (/proc/net/tcp, tcp6)', () => {
  it('spells addresses as Linux prints them', () => {
    expect(procHex(addressBytes('127.0.0.1')!, true)).toBe('0100007F');
    expect(procHex(addressBytes('127.0.0.1')!, false)).toBe('7F000001');
    expect(procHex(addressBytes('::1')!, true)).toBe('00000000000000000000000001000000');
    expect(procHex(addressBytes('::ffff:127.0.0.1')!, true)).toBe('0000000000000000FFFF00000100007F');
    expect(addressBytes('fe80::1%lo')).toHaveLength(16);
    expect(addressBytes('nonsense')).toBeUndefined();
  });

  it('finds the owner of the far end of a connection, on IPv4, IPv6 and a dual-stack client', () => {
    const ours4 = { address: '127.0.0.1', port: 8787 };
    expect(peerUid(ours4, { address: '127.0.0.1', port: 54321 }, fake)).toBe(1002);
    // Our own end of the connection is not taken for the peer's.
    expect(findPeerUid(TCP, false, { address: '127.0.0.1', port: 54321 }, { address: '127.0.0.1', port: 8787 }, true)).toBe(0);
    // A closed peer (TIME_WAIT, uid 0) and an absent one: unknown.
    expect(peerUid(ours4, { address: '127.0.0.1', port: 54322 }, fake)).toBeUndefined();
    expect(peerUid(ours4, { address: '127.0.0.1', port: 1 }, fake)).toBeUndefined();
    expect(peerUid({ address: '::1', port: 8787 }, { address: '::1', port: 50000 }, fake)).toBe(1001);
    // An IPv4 connection from a dual-stack (AF_INET6) client socket is listed in tcp6.
    expect(peerUid(ours4, { address: '127.0.0.1', port: 50001 }, fake)).toBe(1003);
    expect(peerUid(ours4, { address: '127.0.0.1', port: 54321 }, { tcp: () => undefined, tcp6: () => undefined })).toBeUndefined();
  });

  it('lists who listens on a port on the loopback and wildcard addresses', () => {
    expect(listenersOn(8787, fake)).toEqual([
      { address: '127.0.0.1', uid: 0 },
      { address: '::1', uid: 1001 },
    ]);
    expect(listenersOn(9999, fake)).toEqual([]);
    expect(listenersOn(8787, { tcp: () => undefined, tcp6: () => undefined })).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')('says this process owns both ends of a connection it makes to itself', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect(port, '127.0.0.1');
    const s = await accepted;
    expect(peerUid({ address: s.localAddress!, port: s.localPort! }, { address: s.remoteAddress!, port: s.remotePort! })).toBe(process.getuid!());
    expect(listenersOn(port)).toContainEqual({ address: '127.0.0.1', uid: process.getuid!() });
    const check = peerCheck();
    expect(check.kind).toBe('uid');
    expect(await check.verdict(s)).toBe(true);
    // Known at once after the first time.
    expect(check.verdict(s)).toBe(true);
    expect(await peerCheck({ uid: process.getuid!() + 1 }).verdict(s)).toBe(false);
    client.destroy();
    s.destroy();
    await new Promise((r) => server.close(r));
  });
});

describe('peer checks', () => {
  it('scan the table once for all the connections accepted while a scan was running, and tcp6 only for those not in tcp', async () => {
    const scans: string[] = [];
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const scan: TableScan = async (file, needles, found) => {
      scans.push(`${path.basename(file)}:${needles.length}`);
      await gate;
      const text = file.endsWith('6') ? TCP6 : TCP;
      for (const n of needles) {
        const i = text.indexOf(n);
        if (i >= 0 && found(n, findLineUid(text, i))) return;
      }
    };
    const check = peerCheck({ platform: 'linux', uid: 1002, scanner: new TableScanner(scan, true) });
    const sock = (port: number) => ({ localAddress: '127.0.0.1', localPort: 8787, remoteAddress: '127.0.0.1', remotePort: port }) as net.Socket;
    const first = check.verdict(sock(54321));
    // Accepted while the first scan runs: all share the next one.
    const later = [54321, 54322, 50001, 1].map(async (p) => check.verdict(sock(p)));
    expect(scans).toEqual(['tcp:1']);
    release();
    gate = Promise.resolve();
    expect(await first).toBe(true);
    // 54322 is in TIME_WAIT, 50001 belongs to uid 1003 (a dual-stack socket, in tcp6), 1 is nowhere.
    expect(await Promise.all(later)).toEqual([true, false, false, false]);
    expect(scans).toEqual(['tcp:1', 'tcp:4', 'tcp6:2']);
  });

  it('read /proc-like files a chunk at a time, finding lines across chunk ends, and stop when all are found', async () => {
    const dir = tempDir('proc');
    const file = path.join(dir, 'tcp');
    const line = (i: number, uid: number) =>
      `${String(i).padStart(5)}: 0100007F:${(i % 65536).toString(16).toUpperCase().padStart(4, '0')} 0100007F:2253 01 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${i} 1\n`;
    let text = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    for (let i = 1; i <= 3000; i++) text += line(i, 1000 + i);
    fs.writeFileSync(file, text);
    const needle = (i: number) => ` 0100007F:${i.toString(16).toUpperCase().padStart(4, '0')} 0100007F:2253 `;
    // Lines around the first 64 KiB boundary, and the last line.
    const at = Math.floor(65_536 / line(1, 1).length);
    const want = [at - 1, at, at + 1, 3000];
    const seen = new Map<number, number | undefined>();
    await scanProcFile(file, want.map(needle), (n, uid) => {
      seen.set(want[want.map(needle).indexOf(n)]!, uid);
      return seen.size === want.length;
    });
    expect([...seen].sort((a, b) => a[0] - b[0])).toEqual(want.map((i) => [i, 1000 + i]));
    // Stops at once when told to.
    let calls = 0;
    await scanProcFile(file, [needle(1), needle(2)], () => (++calls, true));
    expect(calls).toBe(1);
    // A file that cannot be read finds nothing.
    await scanProcFile(path.join(dir, 'absent'), [needle(1)], () => expect.fail('nothing to find'));
  });

  it('lets everyone through where the platform cannot tell (the proof protects there), but not on Windows, whose check ships with the build', () => {
    for (const platform of ['darwin', 'freebsd'] as const) {
      const check = peerCheck({ platform, uid: 501 });
      expect(check.kind).toBe('none');
      expect(check.verdict({} as net.Socket)).toBe(true);
    }
    // Off Windows its calls cannot load: closed, never open.
    const win = peerCheck({ platform: 'win32', uid: 501 });
    expect(win.verdict({} as net.Socket)).toBe(false);
  });
});

describe('the default port, one per user', () => {
  it('is 8787 for the first user and root, then one more per uid, within 1000 ports', () => {
    expect([0, 999, 1000, 1001, 1999, 2000, 1_234_567].map((uid) => portForId(uid, 'linux'))).toEqual([
      8787,
      8787,
      8787,
      8788,
      9786,
      8787,
      8787 + ((1_234_567 - 1000) % 1000),
    ]);
    expect([0, 501, 502].map((uid) => portForId(uid, 'darwin'))).toEqual([8787, 8787, 8788]);
    expect(defaultServePort({ platform: 'linux', uid: 1003 })).toBe(8790);
  });

  it('on Windows comes from the RID in the SID that whoami prints', () => {
    const whoami = '"desktop-1\\ion","S-1-5-21-1004336348-1177238915-682003330-1005"\r\n';
    expect(ridFromWhoami(whoami)).toBe(1005);
    expect(ridFromWhoami('"x","S-1-5-18"')).toBeUndefined();
    const run = () => ({ code: 0, stdout: whoami, stderr: '' });
    expect(defaultServePort({ platform: 'win32', run })).toBe(8792);
    expect(defaultServePort({ platform: 'win32', run: () => ({ code: 1, stdout: '', stderr: 'no' }) })).toBe(8787);
  });
});

describe('who holds a port', () => {
  it('on Linux, from the socket table, naming other users', () => {
    const run = (cmd: string, args: string[]) => ({
      code: 0,
      stdout: cmd === 'getent' && args[1] === '1001' ? 'anafsquat:x:1001:1001::/home/anafsquat:/usr/sbin/nologin\n' : '',
      stderr: '',
    });
    const other = portOwner(8787, { platform: 'linux', uid: 0, run, proc: fake });
    expect(other).toEqual({
      who: 'other',
      holders: [
        { address: '127.0.0.1', uid: 0 },
        { address: '::1', uid: 1001, user: 'anafsquat' },
      ],
    });
    expect(describeHolders(other, 8787)).toBe('another user: uid 0 on 127.0.0.1:8787, user anafsquat (uid 1001) on [::1]:8787');
    expect(portOwner(8787, { platform: 'linux', uid: 0, run, proc: { tcp: () => TCP, tcp6: () => '', little: true } })).toMatchObject({ who: 'us' });
    expect(portOwner(9999, { platform: 'linux', uid: 0, run, proc: fake })).toEqual({ who: 'nobody' });
  });

  it('on macOS from lsof, on Windows from netstat and tasklist', () => {
    const lsof = 'p4242\nu502\nn127.0.0.1:8787\np4243\nu502\nn[::1]:8787\nn*:9000\n';
    expect(parseLsof(lsof, 8787)).toEqual([
      { address: '127.0.0.1', uid: 502, pid: 4242 },
      { address: '::1', uid: 502, pid: 4243 },
    ]);
    const mac = portOwner(8787, { platform: 'darwin', uid: 501, run: (cmd) => ({ code: 0, stdout: cmd === 'lsof' ? lsof : 'maria\n', stderr: '' }) });
    expect(mac).toMatchObject({ who: 'other', holders: [{ user: 'maria' }, { user: 'maria' }] });
    expect(portOwner(8787, { platform: 'darwin', uid: 501, run: () => ({ code: 1, stdout: '', stderr: '' }) })).toEqual({ who: 'nobody' });

    const netstat =
      '\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n  TCP    127.0.0.1:8787         0.0.0.0:0              LISTENING       4242\r\n  TCP    127.0.0.1:8787         127.0.0.1:50000        ESTABLISHED     4242\r\n  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\r\n';
    expect(parseNetstat(netstat, 8787)).toEqual([{ address: '127.0.0.1', pid: 4242 }]);
    expect(parseNetstat('  TCP    [::1]:8787             [::]:0                 LISTENING       77\r\n', 8787)).toEqual([{ address: '::1', pid: 77 }]);
    const tasklist = '"node.exe","4242","RDP-Tcp#3","3","45,000 K","Running","FIRMA\\maria","0:00:01","N/A"\r\n';
    expect(parseTasklistUser(tasklist)).toBe('FIRMA\\maria');
    const win = (me: string) =>
      portOwner(8787, {
        platform: 'win32',
        windowsUser: me,
        run: (cmd, args) => ({ code: 0, stdout: cmd === 'tasklist' ? tasklist : args.includes('TCPv6') ? '' : netstat, stderr: '' }),
      });
    expect(win('FIRMA\\ion')).toMatchObject({ who: 'other', holders: [{ address: '127.0.0.1', pid: 4242, user: 'FIRMA\\maria' }] });
    expect(win('FIRMA\\maria')).toMatchObject({ who: 'us' });
  });

  it('says when the table cannot be read', () => {
    expect(portOwner(8787, { platform: 'linux', uid: 0, proc: { tcp: () => undefined, tcp6: () => undefined } })).toMatchObject({ who: 'unknown' });
    expect(describeHolders({ who: 'unknown', holders: [], why: 'no way to ask on aix' }, 1)).toBe('someone (no way to ask on aix)');
  });
});

describe('a real loopback server', () => {
  it('answers the proof header byte for byte as node:http sends it', async () => {
    // The header fits in one line and Node sends it unchanged (no folding, no re-quoting).
    let seen: string | undefined;
    const server = http.createServer((req, res) => {
      seen = req.headers.authorization;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const header = authorizationFor('erp', KEY, NONCE, `127.0.0.1:${port}`);
    await new Promise<void>((r) => http.get({ port, host: '127.0.0.1', headers: { authorization: header }, agent: false }, (res) => res.resume().on('end', r)));
    await new Promise((r) => server.close(r));
    expect(parseAuthorization(seen)).toMatchObject({ kind: 'proof', client: 'erp', nonce: NONCE });
    expect(seen).toBe(header);
  });
});
