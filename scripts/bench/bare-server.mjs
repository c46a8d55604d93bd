// The floor for the ERP token fetch: a bare node:http server answering a constant JSON body
// of the same size as anaf-token serve's token answer (BODY_BYTES).
import http from 'node:http';

const size = Number(process.env.BODY_BYTES ?? 1000);
const body = JSON.stringify({ profile: 'firma', accessToken: 'x'.repeat(Math.max(0, size - 90)), expiresAt: new Date().toISOString(), tokenType: 'Bearer' });
const head = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`;
const server = http.createServer((req, res) => {
  // Asked to close (the new-connection-per-request round): the same answer, then a reset, which
  // leaves no TIME_WAIT socket behind. Thousands of them a second would swell the kernel's socket
  // table, which serve's peer check reads, and charge the floor's load to serve.
  if (/close/i.test(req.headers.connection ?? '')) {
    req.socket.write(head + body, () => req.socket.resetAndDestroy());
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
