// Standalone stand-in for end-to-end runs (browser, CLI in another process):
//   npx tsx test/anaf-standin/main.ts --dir <pkiDir> [--port N] [--host H]
//     [--client-id X --client-secret Y --redirect-uri U [--redirect-uri U2]]
//     [--server-name erp.example.ro ...] [--enrolled-subject "POPESCU ION" ...]
//     [--omit-state] [--refresh-token-format jwt|opaque] [--dialect anaf|rfc]
//     [--processing-delay-ms N] [--spv-cif CIF ...]   (e-Factura / e-Transport, efactura-api.ts)
// Prints one JSON line {url, caFile, pid, api} on stdout and runs until SIGTERM/SIGINT; `api` holds
// the API bases that stand for https://api.anaf.ro/prod and /test.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makePki } from '../pki/make-pki.js';
import { startAnafStandin } from './server.js';

// Defaults used when no client is given on the command line.
const DEFAULT_CLIENT_ID = 'standin-client-id';
const DEFAULT_CLIENT_SECRET = 'standin-client-secret';
const DEFAULT_REDIRECT_URI = 'https://erp.example.ro/anaf/callback';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'server-name': { type: 'string', multiple: true },
      'enrolled-subject': { type: 'string', multiple: true },
      'omit-state': { type: 'boolean' },
      'refresh-token-format': { type: 'string' },
      dialect: { type: 'string' },
      'processing-delay-ms': { type: 'string' },
      'spv-cif': { type: 'string', multiple: true },
    },
    strict: true,
  });
  if (!values.dir) throw new Error('--dir <pkiDir> is required');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
  const format = values['refresh-token-format'] ?? 'jwt';
  if (format !== 'jwt' && format !== 'opaque') throw new Error('--refresh-token-format must be jwt or opaque');
  const dialect = values.dialect ?? 'anaf';
  if (dialect !== 'anaf' && dialect !== 'rfc') throw new Error('--dialect must be anaf or rfc');
  const delayMs = Number(values['processing-delay-ms'] ?? '0');
  if (!Number.isInteger(delayMs) || delayMs < 0) throw new Error('--processing-delay-ms must be a whole number of milliseconds');

  const pki = await makePki(path.resolve(values.dir), { serverNames: values['server-name'] ?? [] });
  const standin = await startAnafStandin({
    pki,
    host: values.host,
    port,
    clients: [
      {
        clientId: values['client-id'] ?? DEFAULT_CLIENT_ID,
        clientSecret: values['client-secret'] ?? DEFAULT_CLIENT_SECRET,
        redirectUris: values['redirect-uri'] ?? [DEFAULT_REDIRECT_URI],
      },
    ],
    enrolledSubjects: values['enrolled-subject'],
    omitState: values['omit-state'] ?? false,
    refreshTokenFormat: format,
    dialect,
  });
  standin.api.setOptions({ processing: { delayMs }, spvCifs: values['spv-cif'] });

  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    standin.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const api = { prod: `${standin.url}/prod`, test: `${standin.url}/test` };
  process.stdout.write(JSON.stringify({ url: standin.url, caFile: pki.ca.certFile, pid: process.pid, api }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`anaf-standin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
