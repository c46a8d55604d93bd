/**
 * Starts `anaf-token serve` as its own process and speaks to it as an ERP would (node:http, any
 * headers), with the documented handshake: a nonce from GET /v1/challenge, then
 * `Authorization: AnafToken client="…", nonce="…", proof="…"` (docs/erp-api.md), and, when it
 * sends a `cnonce`, the check of the service's proof of its answer, written from the documentation
 * (not from the service's code), as an ERP would write it.
 */
import crypto from 'node:crypto';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { authorizationFor } from '../../native-host/src/serve/client-keys.js';
import type { PeerCheck } from '../../native-host/src/serve/peer.js';
import { CLI } from './cli.js';

export interface ServeProcess {
  port: number;
  addresses: string[];
  peerCheck: PeerCheck['kind'];
  child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  stop(): Promise<number | null>;
}

/** `args` may give --port; else the OS chooses one. */
export function startServeProcess(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const child = spawn(process.execPath, [CLI, 'serve', ...port, '--json', ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start; stderr: ${stderr}`)), 15_000);
    child.on('close', (code) => reject(new Error(`serve exited ${code}: ${stderr}${stdout}`)));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (!stdout.includes('\n') || !line) return;
      let ready: { port: number; addresses: string[]; peerCheck: PeerCheck['kind'] };
      try {
        ready = JSON.parse(line) as typeof ready;
      } catch {
        return; // not the ready line: an error printed as --json, whole when serve exits
      }
      clearTimeout(timer);
      resolve({
        port: ready.port,
        addresses: ready.addresses,
        peerCheck: ready.peerCheck,
        child,
        output: () => ({ stdout, stderr }),
        async stop() {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

/** What the ERP concluded of the service's proof (AnafToken-Server-Proof) of an answer. */
export type ServerProofVerdict = 'valid' | 'missing' | 'wrong';

export interface ErpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: unknown;
  /** Only when the request sent a cnonce. */
  serverProof?: ServerProofVerdict;
}

/**
 * The ERP's check, as docs/erp-api.md gives it: HMAC-SHA256 with the client key over
 * "anaf-token-v1-server\n" + cnonce + "\n" + nonce + "\n" + Host + "\n" + status + "\n" + hex SHA-256 of the body bytes.
 */
export function checkServerProof(
  key: string,
  sent: { cnonce: string; nonce: string; host: string },
  answer: { status: number; header: string | string[] | undefined; body: Buffer },
): ServerProofVerdict {
  if (typeof answer.header !== 'string' || answer.header === '') return 'missing';
  const digest = crypto.createHash('sha256').update(answer.body).digest('hex');
  const text = ['anaf-token-v1-server', sent.cnonce, sent.nonce, sent.host, String(answer.status), digest].join('\n');
  const expected = crypto.createHmac('sha256', Buffer.from(key, 'ascii')).update(text, 'ascii').digest();
  const got = Buffer.from(answer.header, 'base64url');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected) ? 'valid' : 'wrong';
}

/** A fresh cnonce: 16 random bytes, 22 base64url characters. */
export const newCnonce = (): string => crypto.randomBytes(16).toString('base64url');

/** What an ERP keeps in its settings: the client name and its key. */
export interface ClientCredential {
  name: string;
  key: string;
}

export interface ErpRequest {
  method?: string;
  /** Prove this client's key: fetch a nonce (unless `nonce` is given), then send the proof. */
  as?: ClientCredential;
  /** The nonce to prove over, instead of a fresh one from /v1/challenge. */
  nonce?: string;
  /** Ask for the service's proof of its answer over this cnonce (`true`: a fresh one) and check it. */
  cnonce?: string | true;
  /** Sent as is; default "127.0.0.1:<port>". The proof is made over this. */
  host?: string;
  headers?: Record<string, string>;
  /** Connect to ::1 instead of 127.0.0.1. */
  ipv6?: boolean;
  /** Source address (another 127.x address). */
  localAddress?: string;
  /** A keep-alive agent, to send several requests over one connection as an ERP does. */
  agent?: http.Agent;
}

/** Every answer the ERP got, for the secret scan. */
export const erpAnswers: string[] = [];

export const defaultHost = (port: number, ipv6?: boolean) => `${ipv6 ? '[::1]' : '127.0.0.1'}:${port}`;

function send(
  port: number,
  path: string,
  o: ErpRequest,
  headers: Record<string, string>,
  check?: (status: number, header: string | string[] | undefined, body: Buffer) => ServerProofVerdict,
): Promise<ErpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: o.ipv6 ? '::1' : '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers,
        agent: o.agent ?? false,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const body = bytes.toString('utf8');
          erpAnswers.push(body);
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          const verdict = check?.(status, res.headers['anaftoken-server-proof'], bytes);
          resolve({ status, headers: res.headers, body, json, ...(verdict === undefined ? {} : { serverProof: verdict }) });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A nonce from GET /v1/challenge (over the same connection options, with the right Host). */
export async function challenge(port: number, o: Pick<ErpRequest, 'ipv6' | 'localAddress' | 'agent'> = {}): Promise<string> {
  const conn = { ...(o.ipv6 ? { ipv6: true } : {}), ...(o.localAddress ? { localAddress: o.localAddress } : {}), ...(o.agent ? { agent: o.agent } : {}) };
  const a = await send(port, '/v1/challenge', conn, { host: defaultHost(port, o.ipv6) });
  if (a.status !== 200) throw new Error(`/v1/challenge answered ${a.status}: ${a.body}`);
  return (a.json as { nonce: string }).nonce;
}

export async function erp(port: number, path: string, o: ErpRequest = {}): Promise<ErpAnswer> {
  const host = o.host ?? defaultHost(port, o.ipv6);
  const headers: Record<string, string> = { host, ...o.headers };
  if (o.as !== undefined && headers.authorization === undefined) {
    const nonce = o.nonce ?? (await challenge(port, o));
    const cnonce = o.cnonce === true ? newCnonce() : o.cnonce;
    headers.authorization = authorizationFor(o.as.name, o.as.key, nonce, host, cnonce);
    if (cnonce !== undefined) {
      const key = o.as.key;
      return send(port, path, o, headers, (status, header, body) => checkServerProof(key, { cnonce, nonce, host }, { status, header, body }));
    }
  }
  return send(port, path, o, headers);
}

/**
 * An ERP as docs/erp-api.md tells it to work: one nonce and header kept for every request, a new
 * nonce fetched only after a 401 that asks for one (WWW-Authenticate: AnafToken), and that
 * request tried once more.
 */
export class ErpClient {
  private nonce: string | undefined;
  challenges = 0;
  constructor(
    readonly port: number,
    readonly as: ClientCredential,
    readonly o: Pick<ErpRequest, 'agent' | 'ipv6' | 'localAddress'> & { /** a fresh cnonce per request, the answer's proof checked */ mutual?: boolean } = {},
  ) {}

  async get(path: string, method = 'GET'): Promise<ErpAnswer> {
    for (let attempt = 0; ; attempt++) {
      if (this.nonce === undefined) {
        this.nonce = await challenge(this.port, this.o);
        this.challenges++;
      }
      const { mutual, ...conn } = this.o;
      const a = await erp(this.port, path, { ...conn, method, as: this.as, nonce: this.nonce, ...(mutual ? { cnonce: true as const } : {}) });
      if (a.status !== 401 || attempt > 0 || !String(a.headers['www-authenticate']).startsWith('AnafToken')) return a;
      this.nonce = undefined;
    }
  }
}
