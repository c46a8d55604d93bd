// A program of another OS user on the token service's port (run with `runuser -u anafsquat`).
//   node squatter.mjs listen <port> <host>[,<host>…] [nonce]
//     answers GET /v1/challenge with the nonce given (else a random one of its own), records
//     every other request (method, path, raw headers) as a JSON line, and answers it with a
//     made-up token. Prints {"listening":port} when ready, {"error":code} if it cannot listen.
//     Stops when its stdin closes.
//   node squatter.mjs request <port> <address> <path> <header-json>
//     sends one request and prints {"status","body"} or {"error":code}.
//   node squatter.mjs idle <port> <address>
//     connects, sends nothing, and prints {"closedAfterMs":…} or {"open":true} after 5 s.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

const [mode, portText, hostsText, ...rest] = process.argv.slice(2);
const port = Number(portText);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

if (mode === 'listen') {
  const nonce = rest[0] || crypto.randomBytes(32).toString('base64url');
  const handler = (req, res) => {
    if (req.url === '/v1/challenge') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ nonce, expiresAt: new Date(Date.now() + 600_000).toISOString() }));
      return;
    }
    out({ captured: { method: req.method, path: req.url, rawHeaders: req.rawHeaders, peer: req.socket.remoteAddress } });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ profile: 'firma', accessToken: 'squatted', expiresAt: new Date().toISOString(), tokenType: 'Bearer' }));
  };
  const servers = [];
  for (const host of hostsText.split(',')) {
    const s = http.createServer(handler);
    servers.push(s);
    try {
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen({ port, host, ipv6Only: host.includes(':') }, resolve);
      });
    } catch (e) {
      out({ error: e.code ?? String(e) });
      process.exit(1);
    }
  }
  out({ listening: port });
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
} else if (mode === 'request') {
  const [path, headerJson] = rest;
  const req = http.request({ host: hostsText, port, path, headers: JSON.parse(headerJson), agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => out({ status: res.statusCode, body }));
  });
  req.on('error', (e) => out({ error: e.code ?? String(e) }));
  req.setTimeout(5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.end();
} else if (mode === 'idle') {
  const t0 = Date.now();
  const sock = net.connect(port, hostsText);
  const timer = setTimeout(() => {
    out({ open: true });
    sock.destroy();
  }, 5000);
  sock.on('error', () => undefined);
  sock.on('close', () => {
    clearTimeout(timer);
    if (sock.connecting === false) out({ closedAfterMs: Date.now() - t0 });
  });
} else {
  out({ error: `unknown mode ${mode}` });
  process.exit(2);
}
