/** Starts `anaf-token serve` as its own process and speaks to it as an ERP would (node:http, any headers). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { CLI } from './cli.js';

export interface ServeProcess {
  port: number;
  addresses: string[];
  child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  stop(): Promise<number | null>;
}

export function startServeProcess(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
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
      clearTimeout(timer);
      const ready = JSON.parse(line) as { port: number; addresses: string[] };
      resolve({
        port: ready.port,
        addresses: ready.addresses,
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

export interface ErpRequest {
  method?: string;
  key?: string;
  /** Sent as is; default "127.0.0.1:<port>". */
  host?: string;
  headers?: Record<string, string>;
  /** Connect to ::1 instead of 127.0.0.1. */
  ipv6?: boolean;
  /** Source address (another 127.x address counts as another caller for the rate limit). */
  localAddress?: string;
  /** A keep-alive agent, to send several requests over one connection as an ERP does. */
  agent?: http.Agent;
}

/** Every answer the ERP got, for the secret scan. */
export const erpAnswers: string[] = [];

export function erp(port: number, path: string, o: ErpRequest = {}): Promise<ErpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: o.host ?? `${o.ipv6 ? '[::1]' : '127.0.0.1'}:${port}`, ...o.headers };
    if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
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
