/** Speaks Chrome's side of native messaging to the host process: length-prefixed JSON over stdio. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

export interface NativeSession {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the next answer from the host. */
  next(): Promise<Record<string, unknown>>;
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  writeRaw(b: Buffer): void;
  end(): Promise<{ code: number | null; stderr: string }>;
}

export function startNative(command: string, args: string[], env: NodeJS.ProcessEnv): NativeSession {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = Buffer.alloc(0);
  let stderr = '';
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The host closes its stdin when it refuses a stream; the test judges it by its exit and answers.
  child.stdin.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  child.stdout.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
      const len = buf.readUInt32LE(0);
      const msg = JSON.parse(buf.subarray(4, 4 + len).toString()) as Record<string, unknown>;
      buf = buf.subarray(4 + len);
      const w = waiters.shift();
      if (w) w(msg);
      else queue.push(msg);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = queue.shift();
      if (m) return resolve(m);
      const t = setTimeout(() => reject(new Error(`no answer from the host; stderr: ${stderr}`)), 20_000);
      waiters.push((msg) => {
        clearTimeout(t);
        resolve(msg);
      });
    });
  return {
    child,
    next,
    request(msg) {
      child.stdin.write(encodeFrame(msg));
      return next();
    },
    writeRaw(b) {
      child.stdin.write(b);
    },
    async end() {
      child.stdin.end();
      return { code: await exited, stderr };
    },
  };
}
