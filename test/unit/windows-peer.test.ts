/**
 * The Windows peer check and port owner apart from Windows: the TCP tables as GetExtendedTcpTable
 * returns them (captured under wine, and built here), the rule, and the check over real sockets
 * with the process owners given by the test — including the ones only a second Windows user
 * would produce (another SID, a process that cannot be opened), which wine cannot make.
 * The same code with the real calls runs under wine in test/windows-peer/wine-peer.test.ts.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { peerCheck } from '../../native-host/src/serve/peer.js';
import { judge, win32PeerSource, windowsPeerCheck, WindowsTableReader, type WindowsPeerSource } from '../../native-host/src/serve/peer-windows.js';
import { listenersIn, parseTcpTable, peerPids, sameAddress, type TcpRow } from '../../native-host/src/serve/win-tcp-table.js';
import { addressBytes } from '../../native-host/src/serve/proc-net.js';
import type { ProcessOwner } from '../../native-host/src/serve/win32-ffi.js';
import { describeHolders, portOwner, windowsPortOwner, type WindowsOwnerSource } from '../../native-host/src/service/port-owner.js';

const fixture = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/windows-tcp/wine-8.0.json'), 'utf8')) as {
  serverPid: number;
  port: number;
  v6port: number;
  ownPorts: { v4: number; v6: number };
  child: { pid: number; localPort: number };
  tables: Record<'conn4' | 'conn6' | 'listen4' | 'listen6', string>;
};
const captured = (name: keyof typeof fixture.tables) => Buffer.from(fixture.tables[name], 'hex');

/** A MIB_TCPTABLE_OWNER_PID / MIB_TCP6TABLE_OWNER_PID, written field by field as Windows lays it out. */
function table(rows: TcpRow[], v6: boolean): Buffer {
  const size = v6 ? 56 : 24;
  const b = Buffer.alloc(4 + rows.length * size);
  b.writeUInt32LE(rows.length, 0);
  // addressBytes is proc-net's (tested with the Linux tables in serve-channel.test.ts).
  const addr = (a: string) => Buffer.from(addressBytes(a)!);
  rows.forEach((r, i) => {
    const o = 4 + i * size;
    if (v6) {
      addr(r.localAddress).copy(b, o);
      b.writeUInt16BE(r.localPort, o + 20);
      addr(r.remoteAddress).copy(b, o + 24);
      b.writeUInt16BE(r.remotePort, o + 44);
      b.writeUInt32LE(r.state, o + 48);
      b.writeUInt32LE(r.pid, o + 52);
    } else {
      b.writeUInt32LE(r.state, o);
      addr(r.localAddress).copy(b, o + 4);
      b.writeUInt16BE(r.localPort, o + 8);
      addr(r.remoteAddress).copy(b, o + 12);
      b.writeUInt16BE(r.remotePort, o + 16);
      b.writeUInt32LE(r.pid, o + 20);
    }
  });
  return b;
}
/** peerPids for one connection. */
const peerPid = (buf: Buffer, v6: boolean, ours: { address: string; port: number }, theirs: { address: string; port: number }) =>
  peerPids(buf, v6, [{ ours, theirs }])[0];

const row = (localAddress: string, localPort: number, remoteAddress: string, remotePort: number, pid: number, state = 5): TcpRow => ({
  state,
  localAddress,
  localPort,
  remoteAddress,
  remotePort,
  pid,
});

describe('Windows TCP tables', () => {
  it('parse the tables wine returned: both ends of each connection, the owner pid of the client ends, the listeners', () => {
    const conn4 = parseTcpTable(captured('conn4'), false)!;
    const { port, serverPid, child, ownPorts } = fixture;
    expect(conn4).toContainEqual(row('127.0.0.1', ownPorts.v4, '127.0.0.1', port, serverPid));
    expect(conn4).toContainEqual(row('127.0.0.1', child.localPort, '127.0.0.1', port, child.pid));
    // The server's ends: wine keeps accepted sockets in wineserver and names no process (pid 0).
    expect(conn4).toContainEqual(row('127.0.0.1', port, '127.0.0.1', child.localPort, 0));
    const raw4 = captured('conn4');
    expect(peerPid(raw4, false, { address: '127.0.0.1', port }, { address: '127.0.0.1', port: child.localPort })).toBe(child.pid);
    expect(peerPid(raw4, false, { address: '127.0.0.1', port }, { address: '127.0.0.1', port: ownPorts.v4 })).toBe(serverPid);
    // Reversed ends are another socket.
    expect(peerPid(raw4, false, { address: '127.0.0.1', port: child.localPort }, { address: '127.0.0.1', port })).toBe(0);
    expect(
      peerPids(raw4, false, [
        { ours: { address: '127.0.0.1', port }, theirs: { address: '127.0.0.1', port: child.localPort } },
        { ours: { address: '127.0.0.1', port }, theirs: { address: '127.0.0.1', port: 1 } },
        { ours: { address: '127.0.0.1', port }, theirs: { address: '127.0.0.1', port: ownPorts.v4 } },
      ]),
    ).toEqual([child.pid, undefined, serverPid]);

    const conn6 = parseTcpTable(captured('conn6'), true)!;
    expect(conn6).toContainEqual(row('::1', ownPorts.v6, '::1', fixture.v6port, 0));
    expect(peerPid(captured('conn6'), true, { address: '::1', port: fixture.v6port }, { address: '::1', port: ownPorts.v6 })).toBe(0);

    expect(listenersIn(parseTcpTable(captured('listen4'), false)!, port)).toEqual([{ address: '127.0.0.1', pid: 0 }]);
    expect(listenersIn(parseTcpTable(captured('listen6'), true)!, fixture.v6port)).toEqual([{ address: '::1', pid: 0 }]);
    expect(parseTcpTable(captured('listen6'), true)![0]).toMatchObject({ remoteAddress: '::', state: 2 });
  });

  it('parse built tables field by field, and refuse bytes that are not a table', () => {
    const v4 = [
      row('127.0.0.1', 50123, '127.0.0.1', 8787, 4242),
      row('0.0.0.0', 8787, '0.0.0.0', 0, 77, 2),
      row('127.0.0.1', 50124, '127.0.0.1', 8787, 0xfffffff0, 11),
    ];
    expect(parseTcpTable(table(v4, false), false)).toEqual(v4);
    const v6 = [
      row('::1', 50123, '::1', 8787, 4242),
      row('::ffff:127.0.0.1', 50124, '::ffff:127.0.0.1', 8787, 5),
      row('fe80::1:2:0:3', 1, '2001:db8::1', 2, 6, 2),
      row('::', 8787, '::', 0, 7, 2),
    ];
    expect(parseTcpTable(table(v6, true), true)).toEqual(v6);
    expect(parseTcpTable(Buffer.alloc(3), false)).toBeUndefined();
    const short = table(v4, false).subarray(0, 4 + 2 * 24 + 10);
    expect(parseTcpTable(short, false)).toBeUndefined();
    expect(parseTcpTable(table([], true), true)).toEqual([]);
  });

  it('match a peer however its address is spelled, skip TIME_WAIT, and find listeners that catch loopback', () => {
    expect(sameAddress('127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(sameAddress('::1', '0:0:0:0:0:0:0:1')).toBe(true);
    expect(sameAddress('127.0.0.1', '127.0.0.2')).toBe(false);
    expect(sameAddress('::1', '127.0.0.1')).toBe(false);
    const v4 = table(
      [row('127.0.0.1', 50000, '127.0.0.1', 8787, 9, 11), row('127.0.0.2', 50000, '127.0.0.1', 8787, 8), row('127.0.0.1', 50000, '127.0.0.1', 8787, 10)],
      false,
    );
    expect(peerPid(v4, false, { address: '127.0.0.1', port: 8787 }, { address: '127.0.0.1', port: 50000 })).toBe(10);
    expect(peerPid(v4, false, { address: '::ffff:127.0.0.1', port: 8787 }, { address: '::ffff:127.0.0.1', port: 50000 })).toBe(10);
    expect(
      peerPid(
        table([row('127.0.0.1', 50000, '127.0.0.1', 8787, 9, 11)], false),
        false,
        { address: '127.0.0.1', port: 8787 },
        { address: '127.0.0.1', port: 50000 },
      ),
    ).toBeUndefined();
    // A dual-stack peer socket, in the IPv6 table.
    const v6 = table([row('::ffff:127.0.0.1', 50001, '::ffff:127.0.0.1', 8787, 11), row('::1', 50002, '::1', 8787, 12)], true);
    expect(peerPid(v6, true, { address: '127.0.0.1', port: 8787 }, { address: '127.0.0.1', port: 50001 })).toBe(11);
    expect(peerPid(v6, true, { address: '::1', port: 8787 }, { address: '::1', port: 50002 })).toBe(12);
    expect(peerPid(v6, true, { address: '::1', port: 8787 }, { address: '::1', port: 50001 })).toBeUndefined();
    // Bytes that are no table find nothing.
    expect(peerPid(Buffer.alloc(2), false, { address: '::1', port: 8787 }, { address: '::1', port: 50002 })).toBeUndefined();
    const listening = [
      row('0.0.0.0', 8787, '0.0.0.0', 0, 1, 2),
      row('10.0.0.5', 8787, '0.0.0.0', 0, 2, 2),
      row('127.0.0.1', 8788, '0.0.0.0', 0, 3, 2),
      row('127.0.0.1', 8787, '127.0.0.1', 50000, 4),
    ];
    expect(listenersIn(listening, 8787)).toEqual([{ address: '0.0.0.0', pid: 1 }]);
  });
});

const SELF: ProcessOwner = { ok: true, sid: 'S-1-5-21-1004336348-1177238915-682003330-1005', session: 3, user: 'FIRMA\\ion' };
const OTHER: ProcessOwner = { ok: true, sid: 'S-1-5-21-1004336348-1177238915-682003330-1006', session: 4, user: 'FIRMA\\maria' };
const DENIED: ProcessOwner = { ok: false, step: 'open-process', error: 5 };

describe('the Windows rule', () => {
  const owners = new Map<number, ProcessOwner>([
    [100, SELF],
    [101, { ...SELF, session: 7 }],
    [200, OTHER],
    [300, DENIED],
    [301, { ok: false, step: 'open-token', error: 5 }],
  ]);
  const owner = (pid: number) => owners.get(pid) ?? { ok: false as const, step: 'open-process' as const, error: 87 };

  it('serves our SID in any session, closes another SID, a process it cannot open, pid 0 and no row', () => {
    expect(judge(SELF, 100, owner, 1)).toEqual({ ours: true, pid: 100, session: 3 });
    expect(judge(SELF, 101, owner, 1)).toEqual({ ours: true, pid: 101, session: 7 });
    expect(judge(SELF, 1, () => expect.fail('our own process is not opened again'), 1)).toEqual({ ours: true, pid: 1, session: 3 });
    expect(judge(SELF, 200, owner, 1)).toEqual({ ours: false, why: 'other-user', pid: 200, detail: OTHER.ok ? OTHER.sid : '' });
    expect(judge(SELF, 300, owner, 1)).toEqual({ ours: false, why: 'cannot-open', pid: 300, detail: 'open-process 5' });
    expect(judge(SELF, 301, owner, 1)).toEqual({ ours: false, why: 'cannot-open', pid: 301, detail: 'open-token 5' });
    expect(judge(SELF, 999, owner, 1)).toMatchObject({ ours: false, why: 'cannot-open' });
    expect(judge(SELF, 0, owner, 1)).toEqual({ ours: false, why: 'pid-0' });
    expect(judge(SELF, undefined, owner, 1)).toEqual({ ours: false, why: 'no-row' });
    // If our own token cannot be read, nobody is ours.
    expect(judge(DENIED, 100, owner, 1)).toMatchObject({ ours: false, why: 'self-unknown' });
  });
});

describe('the Windows peer check over real connections', () => {
  const open: (net.Server | net.Socket)[] = [];
  afterEach(() => {
    for (const x of open.splice(0)) {
      if (x instanceof net.Server) x.close();
      else x.destroy();
    }
  });

  async function connections(n: number): Promise<{ port: number; clients: net.Socket[]; accepted: net.Socket[] }> {
    const server = net.createServer();
    open.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted: net.Socket[] = [];
    const all = new Promise<void>((r) =>
      server.on('connection', (s) => {
        open.push(s);
        if (accepted.push(s) === n) r();
      }),
    );
    const clients = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<net.Socket>((r) => {
            const c = net.connect(port, '127.0.0.1', () => r(c));
            open.push(c);
          }),
      ),
    );
    await all;
    return { port, clients, accepted };
  }

  it('finds each peer in the table the Windows call returns and judges its process: ours, ours in another session, another user, cannot open, gone', async () => {
    const { port, clients, accepted } = await connections(5);
    const pids = [100, 101, 200, 300];
    // The table as GetExtendedTcpTable would give it: each client end with its process (the last client has left).
    const rows = clients
      .slice(0, 4)
      .flatMap((c, i) => [row('127.0.0.1', c.localPort!, '127.0.0.1', port, pids[i]!), row('127.0.0.1', port, '127.0.0.1', c.localPort!, 1)]);
    const owners = new Map<number, ProcessOwner>([
      [1, SELF],
      [100, SELF],
      [101, { ...SELF, session: 9 }],
      [200, OTHER],
      [300, DENIED],
    ]);
    const calls: string[] = [];
    const source = win32PeerSource({
      tcpTableAsync: async (af, cls) => (calls.push(`${af}/${cls}`), table(af === 2 ? rows : [], af === 23)),
      processOwner: (pid) => owners.get(pid) ?? { ok: false, step: 'open-process', error: 87 },
      selfPid: 1,
    });
    const check = peerCheck({ platform: 'win32', windows: () => source });
    expect(check.kind).toBe('sid');
    for (const s of accepted) check.accepted(s);
    const byPort = new Map(accepted.map((s) => [s.remotePort, s]));
    const verdicts = await Promise.all(clients.map(async (c) => check.verdict(byPort.get(c.localPort)!)));
    expect(verdicts).toEqual([true, true, false, false, false]);
    // Known at once afterwards.
    expect(check.verdict(byPort.get(clients[0]!.localPort)!)).toBe(true);
    // Connections, not listeners: one read for the first connection, one for the four accepted
    // while it ran; the IPv6 table only for the peer not found in the IPv4 one.
    expect(calls.filter((c) => c.startsWith('2/'))).toEqual(['2/4', '2/4']);
    expect(calls.filter((c) => c.startsWith('23/'))).toEqual(['23/4']);
  });

  it('reads the table once for all the connections accepted while a read was running', async () => {
    const { port, clients, accepted } = await connections(12);
    const rows = clients.map((c) => row('127.0.0.1', c.localPort!, '127.0.0.1', port, 100));
    let reads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const source: WindowsPeerSource = {
      connections: async (v6) => {
        reads++;
        await gate;
        return table(v6 ? [] : rows, v6);
      },
      owner: (pid) => (pid === 100 ? SELF : DENIED),
      self: { pid: 1, owner: SELF },
    };
    const check = windowsPeerCheck(source);
    const first = check.verdict(accepted[0]!);
    const rest = accepted.slice(1).map(async (s) => check.verdict(s));
    expect(reads).toBe(1);
    release();
    expect(await first).toBe(true);
    expect(await Promise.all(rest)).toEqual(accepted.slice(1).map(() => true));
    expect(reads).toBe(2);
    expect(check.reader.reads).toBe(2);
  });

  it('closes everything when the table cannot be read', async () => {
    const { accepted } = await connections(1);
    const reader = new WindowsTableReader({ connections: async () => undefined });
    expect(
      await reader.lookup({ address: '127.0.0.1', port: accepted[0]!.localPort! }, { address: '127.0.0.1', port: accepted[0]!.remotePort! }),
    ).toBeUndefined();
    const failing = windowsPeerCheck({ connections: () => Promise.reject(new Error('rc 87')), owner: () => SELF, self: { pid: 1, owner: SELF } });
    expect(await failing.verdict(accepted[0]!)).toBe(false);
    expect(failing.finding(accepted[0]!)).toEqual({ ours: false, why: 'no-row' });
  });

  it('closes everything, and says why, where the Windows calls cannot be loaded (here: not Windows)', async () => {
    const check = peerCheck({ platform: 'win32' });
    expect(check.kind).toBe('sid');
    if (process.platform === 'win32') return;
    expect(check.unavailable).toMatch(/every connection is closed: .*could not be loaded/);
    const { accepted } = await connections(1);
    expect(await check.verdict(accepted[0]!)).toBe(false);
  });

  it('closes a connection whose owner lookup throws, and goes on serving the next', async () => {
    const { port, clients, accepted } = await connections(2);
    const rows = clients.flatMap((c, i) => [row('127.0.0.1', c.localPort!, '127.0.0.1', port, 100 + i), row('127.0.0.1', port, '127.0.0.1', c.localPort!, 1)]);
    const source = win32PeerSource({
      tcpTableAsync: async (af) => table(af === 2 ? rows : [], af === 23),
      processOwner: (pid) => {
        if (pid === 100) throw new Error('koffi: access violation');
        return SELF;
      },
      selfPid: 1,
    });
    const check = peerCheck({ platform: 'win32', windows: () => source });
    const byPort = new Map(accepted.map((s) => [s.remotePort, s]));
    expect(await check.verdict(byPort.get(clients[0]!.localPort)!)).toBe(false);
    expect(await check.verdict(byPort.get(clients[1]!.localPort)!)).toBe(true);
  });
});

describe('who holds a port, on Windows', () => {
  const src = (
    tables: { v4?: TcpRow[] | number; v6?: TcpRow[] | number },
    owners: Record<number, ProcessOwner>,
    self: ProcessOwner = SELF,
  ): WindowsOwnerSource => ({
    listeners: (v6) => {
      const t = v6 ? tables.v6 : tables.v4;
      return typeof t === 'number' ? t : table(t ?? [], v6);
    },
    owner: (pid) => owners[pid] ?? DENIED,
    self,
  });
  const listen = (a: string, port: number, pid: number) => row(a, port, a.includes(':') ? '::' : '0.0.0.0', 0, pid, 2);

  it("names the user of each listener from its token, and calls a process it cannot open another user's", () => {
    const us = windowsPortOwner(8787, src({ v4: [listen('127.0.0.1', 8787, 40)], v6: [listen('::1', 8787, 40)] }, { 40: SELF }));
    expect(us).toEqual({
      who: 'us',
      holders: [
        { address: '127.0.0.1', pid: 40, user: 'FIRMA\\ion' },
        { address: '::1', pid: 40, user: 'FIRMA\\ion' },
      ],
    });
    const other = windowsPortOwner(8787, src({ v4: [listen('127.0.0.1', 8787, 40)], v6: [listen('::', 8787, 41)] }, { 40: SELF, 41: OTHER }));
    expect(other).toMatchObject({ who: 'other' });
    expect(describeHolders(other, 8787)).toBe('another user: user FIRMA\\ion pid 40 on 127.0.0.1:8787, user FIRMA\\maria pid 41 on [::]:8787');
    const denied = windowsPortOwner(8787, src({ v4: [listen('0.0.0.0', 8787, 50)] }, {}));
    expect(denied).toEqual({ who: 'other', holders: [{ address: '0.0.0.0', pid: 50 }] });
    expect(describeHolders(denied, 8787)).toBe('another user: a program pid 50 on 0.0.0.0:8787');
  });

  it('says nobody, or unknown when Windows names no process or the table fails', () => {
    expect(windowsPortOwner(8787, src({ v4: [listen('127.0.0.1', 9000, 40)] }, { 40: SELF }))).toEqual({ who: 'nobody' });
    expect(windowsPortOwner(8787, src({ v4: [listen('127.0.0.1', 8787, 0)] }, {}))).toEqual({
      who: 'unknown',
      holders: [{ address: '127.0.0.1' }],
      why: 'Windows did not say which process listens (owner pid 0)',
    });
    expect(windowsPortOwner(8787, src({ v4: 50 }, {}))).toMatchObject({ who: 'unknown', why: 'GetExtendedTcpTable failed (50)' });
    // No IPv6 stack: the IPv4 table alone says.
    expect(windowsPortOwner(8787, src({ v4: [listen('127.0.0.1', 8787, 40)], v6: 10047 }, { 40: SELF }))).toMatchObject({ who: 'us' });
    expect(windowsPortOwner(8787, src({ v4: [listen('127.0.0.1', 8787, 40)] }, { 40: SELF }, DENIED))).toMatchObject({ who: 'unknown' });
  });

  it('is what portOwner answers on Windows', () => {
    expect(portOwner(8787, { platform: 'win32', windows: () => src({ v4: [listen('127.0.0.1', 8787, 40)] }, { 40: OTHER }) })).toMatchObject({
      who: 'other',
      holders: [{ user: 'FIRMA\\maria' }],
    });
  });
});
