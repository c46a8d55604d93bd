/**
 * Runs a native host launcher the way the browser does (origin argument, length-prefixed JSON
 * on stdio) and asks it `hello`: proof that the manifest leads to a working host, and which
 * version it runs.
 */
import { spawn } from 'node:child_process';
import { PROTOCOL_VERSION } from '#shared/protocol/constants.js';
import { resultSchemas, responseSchema } from '#shared/protocol/results.js';

export type ProbeResult = { ok: true; hostVersion: string } | { ok: false; reason: string };

function frame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

export function probeLauncher(launcher: string, origin: string, timeoutMs: number, platform = process.platform): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const isCmd = platform === 'win32' && /\.(cmd|bat)$/i.test(launcher);
    const child = isCmd
      ? spawn(process.env.ComSpec ?? 'cmd.exe', ['/d', '/c', launcher, origin], { stdio: 'pipe', windowsHide: true })
      : spawn(launcher, [origin], { stdio: 'pipe' });
    let out = Buffer.alloc(0);
    let err = '';
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    child.on('error', (e) => done({ ok: false, reason: (e as NodeJS.ErrnoException).code ?? e.message }));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 2000) err += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      out = Buffer.concat([out, d]);
      if (out.length < 4 || out.length < 4 + out.readUInt32LE(0)) return;
      try {
        const answer = responseSchema.parse(JSON.parse(out.subarray(4, 4 + out.readUInt32LE(0)).toString('utf8')));
        if (!answer.ok) return done({ ok: false, reason: `the host answered ${answer.error.code}` });
        done({ ok: true, hostVersion: resultSchemas.hello.parse(answer.result).hostVersion });
      } catch {
        done({ ok: false, reason: 'the host answered something that is not the native messaging protocol' });
      }
    });
    child.on('close', (code) => done({ ok: false, reason: `exited with code ${code ?? 'none'}${err ? `: ${err.trim().slice(0, 300)}` : ''}` }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(frame({ id: 'doctor', type: 'hello', protocol: PROTOCOL_VERSION }));
  });
}
