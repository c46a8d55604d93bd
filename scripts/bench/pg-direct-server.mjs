// The floor for the token fetch through the team store: a node:http server that answers every
// request with the same query straight to PostgreSQL (pg, a pool, one SELECT of the profile's token
// row per request) and a JSON body of the same size as serve's answer (BODY_BYTES). No proof is
// checked and nothing is opened: what is left is the database round trip an ERP reading the table
// itself would pay.
import http from 'node:http';
import pg from 'pg';

const size = Number(process.env.BODY_BYTES ?? 1000);
const pool = new pg.Pool({ connectionString: process.env.PG_URL, max: 4 });
const sql = 'SELECT profile, access, access_expires_at FROM anaf_token.tokens WHERE profile = $1';
const server = http.createServer((req, res) => {
  const profile = /^\/v1\/profiles\/([^/]+)\/token$/.exec(req.url ?? '')?.[1] ?? '';
  pool.query(sql, [decodeURIComponent(profile)]).then(
    (r) => {
      const row = r.rows[0];
      if (!row) {
        res.writeHead(404).end();
        return;
      }
      const head = { profile: row.profile, expiresAt: new Date(Number(row.access_expires_at)).toISOString(), tokenType: 'Bearer' };
      const pad = Math.max(0, size - Buffer.byteLength(JSON.stringify({ ...head, accessToken: '' })));
      const body = JSON.stringify({ ...head, accessToken: row.access.toString('base64url').padEnd(pad, 'x').slice(0, pad) });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
    },
    () => res.writeHead(503).end(),
  );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
