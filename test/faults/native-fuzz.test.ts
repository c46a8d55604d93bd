/**
 * Native messaging fuzz: 100,000+ generated frames into one host process (bad types, unknown
 * fields, wrong shapes, non-JSON, deep nesting, values up to the frame cap) must each get one
 * typed answer and never crash it; streams broken by bad lengths or truncation must end in a
 * clean exit.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ERROR_CODES, EXTENSION_ID, MAX_FROM_BROWSER_BYTES, responseSchema } from '#shared/index.js';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { reportFaults } from '../helpers/fault-summary.js';

const ORIGIN = `chrome-extension://${EXTENSION_ID}/`;
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);

function frameOf(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

// Requests that are valid or nearly so, for profiles that do not exist: all fail fast, none reach the network.
const templates: Record<string, unknown>[] = [
  { id: 'x', type: 'hello', protocol: 1 },
  { id: 'x', type: 'status' },
  { id: 'x', type: 'profile.remove', profile: 'nobody' },
  { id: 'x', type: 'authorize.start', profile: 'nobody' },
  { id: 'x', type: 'authorize.complete', profile: 'nobody', callbackUrl: 'https://erp.example.ro/cb?code=1&state=2' },
  { id: 'x', type: 'token.refresh', profile: 'nobody' },
  { id: 'x', type: 'token.revoke', profile: 'nobody' },
  { id: 'x', type: 'token.check', profile: 'nobody' },
  { id: 'x', type: 'profile.save', name: 'fz', clientId: 'c', redirectUri: 'https://erp.example.ro/cb', env: 'https://127.0.0.1:1' },
];

const mutated = fc.tuple(fc.constantFrom(...templates), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), fc.nat(3)).map(([t, key, value, how]) => {
  const m: Record<string, unknown> = { ...t };
  const keys = Object.keys(m);
  if (how === 0) delete m[keys[key.length % keys.length]!];
  else if (how === 1) m[keys[key.length % keys.length]!] = value;
  else if (how === 2) m[key || 'extra'] = value;
  // how === 3: left valid
  return Buffer.from(JSON.stringify(m));
});

const deep = fc.integer({ min: 1, max: 20_000 }).map((d) => Buffer.from('['.repeat(d) + ']'.repeat(d)));
const deepObject = fc.integer({ min: 1, max: 5_000 }).map((d) => Buffer.from('{"id":"d","type":'.repeat(d) + '1' + '}'.repeat(d)));
const anyJson = fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null'));
const garbage = fc.uint8Array({ minLength: 0, maxLength: 64 }).map((a) => Buffer.from(a));
const wrongTypes = fc
  .record({
    id: fc.oneof(fc.integer(), fc.constant(null), fc.string({ maxLength: 200 }), fc.boolean()),
    type: fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null)),
  })
  .map((r) => Buffer.from(JSON.stringify(r)));
const frameBody = fc.oneof(
  { arbitrary: mutated, weight: 6 },
  { arbitrary: anyJson, weight: 2 },
  { arbitrary: garbage, weight: 2 },
  { arbitrary: wrongTypes, weight: 2 },
  { arbitrary: deep, weight: 1 },
  { arbitrary: deepObject, weight: 1 },
);

const env = () => ({ ...process.env, ANAF_TOKEN_HOME: tempDir('fuzz'), ANAF_TOKEN_KEYSTORE: 'file' });
const totals = { tried: 0, refused: 0, crashed: 0, lost: 0 };

afterAll(() => reportFaults({ group: 'native-messaging-fuzz', ...totals }));

describe('native messaging fuzz', () => {
  it(`answers ${FRAMES} generated frames, one typed answer each, without crashing`, async () => {
    const bodies = fc.sample(frameBody, { numRuns: FRAMES, seed: 20261125 });
    // A few big values, up to the cap itself (the longest valid request).
    const overhead = JSON.stringify({ id: 'big', type: 'status', pad: '' }).length;
    for (const size of [1024, 32 * 1024, MAX_FROM_BROWSER_BYTES]) {
      const body = Buffer.from(JSON.stringify({ id: 'big', type: 'status', pad: 'x'.repeat(size - overhead) }));
      expect(body.length).toBe(size);
      bodies.push(body);
    }
    const child = spawn(process.execPath, [CLI, 'native', ORIGIN], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let buf = Buffer.alloc(0);
    let answers = 0;
    let refused = 0;
    let malformed = 0;
    child.stdout.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const len = buf.readUInt32LE(0);
        const parsed = responseSchema.safeParse(JSON.parse(buf.subarray(4, 4 + len).toString()));
        buf = buf.subarray(4 + len);
        answers++;
        if (!parsed.success) malformed++;
        else if (!parsed.data.ok) {
          refused++;
          if (!(ERROR_CODES as readonly string[]).includes(parsed.data.error.code)) malformed++;
        }
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (const b of bodies) {
      if (!child.stdin.write(frameOf(b))) await new Promise((r) => child.stdin.once('drain', r));
    }
    child.stdin.end();
    const code = await exited;
    totals.tried += bodies.length;
    totals.refused += refused;
    totals.crashed += code === 0 ? 0 : 1;
    totals.lost += bodies.length - answers;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(malformed).toBe(0);
    expect(answers).toBe(bodies.length);
    expect(refused).toBeGreaterThan(bodies.length * 0.8);
  }, 300_000);

  it('ends cleanly on streams broken by bad lengths, truncation and garbage', async () => {
    const broken = fc.oneof(
      fc.integer({ min: MAX_FROM_BROWSER_BYTES + 1, max: 0xffffffff }).map((n) => {
        const h = Buffer.alloc(4);
        h.writeUInt32LE(n);
        return { tail: h, expectTooLarge: true };
      }),
      fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.nat(4095)).map(([n, have]) => {
        const h = Buffer.alloc(4);
        h.writeUInt32LE(n);
        return { tail: Buffer.concat([h, Buffer.alloc(Math.min(have, n - 1), 0x61)]), expectTooLarge: false };
      }),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map((a) => ({ tail: Buffer.from(a), expectTooLarge: false })),
    );
    const cases = fc.sample(broken, { numRuns: Number(process.env.FUZZ_STREAMS ?? 60), seed: 7 });
    const run = (tail: Buffer) =>
      new Promise<{ code: number | null; stderr: string; answers: Record<string, unknown>[] }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'native', ORIGIN], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
        let out = Buffer.alloc(0);
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (out = Buffer.concat([out, d])));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          const answers: Record<string, unknown>[] = [];
          while (out.length >= 4 && out.length >= 4 + out.readUInt32LE(0)) {
            answers.push(JSON.parse(out.subarray(4, 4 + out.readUInt32LE(0)).toString()) as Record<string, unknown>);
            out = out.subarray(4 + out.readUInt32LE(0));
          }
          resolve({ code, stderr, answers });
        });
        child.stdin.write(frameOf(Buffer.from(JSON.stringify({ id: 'before', type: 'hello', protocol: 1 }))));
        child.stdin.end(tail);
      });
    // Two at a time: the machine has two cores.
    for (let i = 0; i < cases.length; i += 2) {
      const results = await Promise.all(cases.slice(i, i + 2).map((c) => run(c.tail).then((r) => ({ r, c }))));
      for (const { r, c } of results) {
        totals.tried++;
        if (r.code !== 0) totals.crashed++;
        if (!r.answers.some((a) => a.id === 'before')) totals.lost++;
        if (c.expectTooLarge) totals.refused++;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
        // Answers carry ids; a synchronous refusal may overtake the earlier request's answer.
        expect(r.answers.find((a) => a.id === 'before')).toMatchObject({ ok: true });
        if (c.expectTooLarge) {
          expect(r.answers).toHaveLength(2);
          expect(r.answers.find((a) => a.id === null)).toMatchObject({ ok: false, error: { code: 'MESSAGE_TOO_LARGE' } });
        } else expect(r.answers).toHaveLength(1);
      }
    }
  }, 300_000);
});
