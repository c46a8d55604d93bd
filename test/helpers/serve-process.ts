/**
 * Starts `anaf-token serve` as its own process and speaks to it as an ERP would (node:http, any
 * headers), with the documented handshake: a nonce from GET /v1/challenge, then
 * `Authorization: AnafToken client="…", nonce="…", proof="…"` (docs/erp-api.md).
 */
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

export interface ErpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: unknown;
}

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

function send(port: number, path: string, o: ErpRequest, headers: Record<string, string>): Promise<ErpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: o.ipv6 ? '::1' : '127.0.0.1', port, path, method: o.method ?? 'GET', headers, agent: o.agent ?? false, ...(o.localAddress ? { localAddress: o.localAddress } : {}) },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          erpAnswers.push(body);
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
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
    headers.authorization = authorizationFor(o.as.name, o.as.key, nonce, host);
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
    readonly o: Pick<ErpRequest, 'agent' | 'ipv6' | 'localAddress'> = {},
  ) {}

  async get(path: string, method = 'GET'): Promise<ErpAnswer> {
    for (let attempt = 0; ; attempt++) {
      if (this.nonce === undefined) {
        this.nonce = await challenge(this.port, this.o);
        this.challenges++;
      }
      const a = await erp(this.port, path, { ...this.o, method, as: this.as, nonce: this.nonce });
      if (a.status !== 401 || attempt > 0 || !String(a.headers['www-authenticate']).startsWith('AnafToken')) return a;
      this.nonce = undefined;
    }
  }
}
