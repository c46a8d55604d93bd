/**
 * Plays the browser's part of the authorization: opens the authorize URL over TLS with a client
 * certificate (what Chromium does with the USB key) and returns where ANAF redirected it.
 */
import https from 'node:https';

export interface ClientCert {
  certPem: string;
  keyPem: string;
}

export interface AuthorizeOutcome {
  status: number;
  location: string | undefined;
  body: string;
}

export function openAuthorize(url: string, caPem: string, cert?: ClientCert): Promise<AuthorizeOutcome> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: caPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}), agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
  });
}
