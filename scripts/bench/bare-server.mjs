// The floor for the ERP token fetch: a bare node:http server answering a constant JSON body
// of the same size as anaf-token serve's token answer (BODY_BYTES).
import http from 'node:http';

const size = Number(process.env.BODY_BYTES ?? 1000);
const body = JSON.stringify({ profile: 'firma', accessToken: 'x'.repeat(Math.max(0, size - 90)), expiresAt: new Date().toISOString(), tokenType: 'Bearer' });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
