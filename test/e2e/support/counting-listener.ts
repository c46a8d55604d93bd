/**
 * A real HTTPS server for the callback host (erp.example.ro, mapped to loopback by Chromium's
 * --host-resolver-rules). It only counts: any request here means the code left the browser.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Pki } from '../../pki/make-pki.js';

export interface CountingListener {
  port: number;
  /** Requests seen so far (method and path only: a query would hold the code). */
  requests: string[];
  close(): Promise<void>;
}

export async function startCountingListener(pki: Pki): Promise<CountingListener> {
  const requests: string[] = [];
  const server = https.createServer({ key: pki.server.keyPem, cert: pki.server.certPem }, (req, res) => {
    requests.push(`${req.method ?? '?'} ${new URL(req.url ?? '/', 'https://x').pathname}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>ERP</title><h1>ERP callback reached</h1>');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
