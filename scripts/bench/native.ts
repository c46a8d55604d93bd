/** Native messaging: one-shot (what chrome.runtime.sendNativeMessage pays) and a kept port. */
import { spawn } from 'node:child_process';
import { encodeFrame } from '../../test/helpers/native-client.js';

export interface Cmd {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** Spawn → one request → its answer, in ms. */
export function oneShot(cmd: Cmd, request: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = Buffer.alloc(0);
    child.stdout.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const ms = performance.now() - t0;
        child.stdin.end();
        child.on('close', () => resolve(ms));
      }
    });
    child.on('error', reject);
    child.stdin.write(encodeFrame(request));
  });
}

/** Round trips over one kept process, in ms each. */
export async function keptPort(cmd: Cmd, request: object, count: number): Promise<number[]> {
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['pipe', 'pipe', 'ignore'] });
  let buf = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
      buf = buf.subarray(4 + buf.readUInt32LE(0));
      const w = waiting;
      waiting = undefined;
      w?.();
    }
  });
  const times: number[] = [];
  const frame = encodeFrame(request);
  for (let i = 0; i < count + 20; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      waiting = resolve;
      child.stdin.write(frame);
    });
    if (i >= 20) times.push(performance.now() - t0); // the first ones warm the JIT and the vault
  }
  child.stdin.end();
  await new Promise((r) => child.on('close', r));
  return times;
}
