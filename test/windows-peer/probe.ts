/**
 * Runs under `wine node.exe` (bundled by test/helpers/wine.ts): the Windows peer check and port owner with
 * the real calls. `probe.cjs serve`: a TCP server on 127.0.0.1 (and ::1), one connection from this
 * process and one from a second wine process (`probe.cjs client PORT`), then one JSON line on
 * stdout with what Windows (wine) said. The Linux side (wine-peer.test.ts) judges it.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
// The shared koffi loader (platform/koffi.ts) stands here: bundled with its win32_x64 binary beside.
import koffi from 'koffi';
import { win32PeerSource, windowsPeerCheck, type PeerFinding } from '../../native-host/src/serve/peer-windows.js';
import { parseTcpTable } from '../../native-host/src/serve/win-tcp-table.js';
import { AF_INET, AF_INET6, TCP_TABLE_OWNER_PID_CONNECTIONS, TCP_TABLE_OWNER_PID_LISTENER, win32Sockets } from '../../native-host/src/serve/win32-ffi.js';
import { windowsPortOwner } from '../../native-host/src/service/port-owner.js';

const w = win32Sockets(koffi);

function listen(host: string): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(0, host, () => resolve(s));
  });
}

function connect(port: number, host: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host, () => resolve(c));
    c.once('error', reject);
  });
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function client(port: number): Promise<void> {
  const c = await connect(port, '127.0.0.1');
  // Our pid and our end of the connection, so the server can look them up.
  c.write(JSON.stringify({ pid: process.pid, localPort: c.localPort, owner: w.processOwner(process.pid, true) }) + '\n');
  c.on('data', () => undefined);
  await new Promise((r) => c.once('close', r));
}

async function serve(): Promise<void> {
  const check = windowsPeerCheck(win32PeerSource(w));
  const v4 = (await listen('127.0.0.1'))!;
  const port = (v4.address() as net.AddressInfo).port;
  const v6 = await listen('::1');
  const seen: { remotePort: number; ours: boolean; finding: PeerFinding | undefined; ms: number }[] = [];
  const judged: Promise<void>[] = [];
  const accepted: net.Socket[] = [];
  const onConnection = (s: net.Socket) => {
    accepted.push(s);
    const t0 = process.hrtime.bigint();
    check.accepted(s);
    judged.push(
      Promise.resolve(check.verdict(s)).then((ours) => {
        seen.push({ remotePort: s.remotePort!, ours, finding: check.finding(s), ms: ms(t0) });
      }),
    );
  };
  v4.on('connection', onConnection);
  v6?.on('connection', onConnection);

  const own4 = await connect(port, '127.0.0.1');
  const v6port = v6 ? (v6.address() as net.AddressInfo).port : undefined;
  const own6 = v6port ? await connect(v6port, '::1') : undefined;

  // The second wine process: its pid comes back over the connection.
  const child = spawn(process.execPath, [process.argv[1]!, 'client', String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const hello = await new Promise<{ pid: number; localPort: number; owner: unknown }>((resolve) => {
    v4.on('connection', (s) => {
      let text = '';
      s.on('data', (d) => {
        text += d.toString();
        if (text.includes('\n')) resolve(JSON.parse(text.slice(0, text.indexOf('\n'))) as { pid: number; localPort: number; owner: unknown });
      });
    });
  });
  await Promise.all(judged);

  // Wine (8.0) names a socket's process only once that process holds the socket's Unix fd, which
  // it takes when it first reads or writes (wineserver holds it before): at accept time the owner
  // may not be known yet. So every connection is judged again, by a new check, once each client
  // has written (Windows knows the owner from the socket's creation).
  own4.write('x');
  own6?.write('x');
  await new Promise((r) => setTimeout(r, 200));
  const again = windowsPeerCheck(win32PeerSource(w));
  const later: { remotePort: number; ours: boolean; finding: PeerFinding | undefined }[] = [];
  for (const s of accepted) {
    const ours = await again.verdict(s);
    later.push({ remotePort: s.remotePort!, ours, finding: again.finding(s) });
  }

  const table = (af: 2 | 23, cls: number) => {
    const t = w.tcpTable(af, cls);
    return typeof t === 'number' ? { error: t } : { hex: t.toString('hex'), rows: parseTcpTable(t, af === AF_INET6) };
  };
  const conn4 = table(AF_INET, TCP_TABLE_OWNER_PID_CONNECTIONS);
  const conn6 = table(AF_INET6, TCP_TABLE_OWNER_PID_CONNECTIONS);
  const listen4 = table(AF_INET, TCP_TABLE_OWNER_PID_LISTENER);
  const listen6 = table(AF_INET6, TCP_TABLE_OWNER_PID_LISTENER);

  // Costs, as measured here (under wine they say little about Windows: see the report).
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < 5; i++) w.tcpTable(AF_INET, TCP_TABLE_OWNER_PID_CONNECTIONS);
  const tableMs = ms(t0) / 5;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < 50; i++) w.processOwner(hello.pid);
  const ownerMs = ms(t0) / 50;

  const result = {
    pid: process.pid,
    port,
    v6port,
    ownPorts: { v4: own4.localPort, v6: own6?.localPort },
    self: w.processOwner(process.pid, true),
    child: { pid: hello.pid, localPort: hello.localPort, ownOwner: hello.owner, openedByServer: w.processOwner(hello.pid, true) },
    absent: w.processOwner(0x7ffffff0),
    seen,
    later,
    reads: check.reader.reads,
    tables: { conn4, conn6, listen4, listen6 },
    portOwner: windowsPortOwner(port, {
      listeners: (v6) => w.tcpTable(v6 ? AF_INET6 : AF_INET, TCP_TABLE_OWNER_PID_LISTENER),
      owner: (pid) => w.processOwner(pid, true),
      self: w.processOwner(process.pid, true),
    }),
    tableMs,
    ownerMs,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  own4.destroy();
  own6?.destroy();
  child.kill();
  v4.close();
  v6?.close();
  // Leave at once: a wine process may linger on closing handles.
  setTimeout(() => process.exit(0), 200);
}

const [mode, arg] = process.argv.slice(2);
(mode === 'client' ? client(Number(arg)) : serve()).catch((e: unknown) => {
  process.stderr.write(`probe failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
