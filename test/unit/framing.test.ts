import { describe, expect, it } from 'vitest';
import { FrameReader, type Frame } from '../../native-host/src/native/framing.js';
import { extensionIdFromOrigin, isAllowedOrigin } from '../../native-host/src/native/origin.js';

function frame(body: string | Buffer): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([len, b]);
}

async function read(chunks: Buffer[], max?: number): Promise<Frame[]> {
  const r = new FrameReader(max);
  const out: Frame[] = [];
  r.on('data', (f: Frame) => out.push(f));
  for (const c of chunks) r.write(c);
  r.end();
  await new Promise((res) => r.on('end', res));
  return out;
}

describe('frame reader', () => {
  it('reads frames split across chunks and several in one chunk', async () => {
    const all = Buffer.concat([frame('{"a":1}'), frame('[2]'), frame('"ș"')]);
    const bytes = [...all];
    const oneByOne = bytes.map((b) => Buffer.from([b]));
    for (const chunks of [[all], oneByOne]) {
      const frames = await read(chunks);
      expect(frames.map((f) => (f.kind === 'message' ? f.value : f.kind))).toEqual([{ a: 1 }, [2], 'ș']);
    }
  });

  it('answers bad JSON as a frame and goes on', async () => {
    const frames = await read([frame('{nope'), frame('{"ok":true}')]);
    expect(frames.map((f) => f.kind)).toEqual(['bad-json', 'message']);
  });

  it('stops at a length over the cap without buffering it', async () => {
    const frames = await read([frame('{}'), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(100)], 1024);
    expect(frames.map((f) => f.kind)).toEqual(['message', 'too-large']);
  });
});

describe('caller origin', () => {
  const id = 'igbjmhbmmlfhbpngcanfobibgjmcfpnn';
  it('accepts only chrome-extension://<allowed id>/', () => {
    expect(extensionIdFromOrigin(`chrome-extension://${id}/`)).toBe(id);
    expect(isAllowedOrigin(`chrome-extension://${id}/`, [id])).toBe(true);
    expect(isAllowedOrigin(`chrome-extension://${'a'.repeat(32)}/`, [id])).toBe(false);
    expect(isAllowedOrigin(`chrome-extension://${id}`, [id])).toBe(false);
    expect(isAllowedOrigin(`https://${id}/`, [id])).toBe(false);
    expect(isAllowedOrigin(undefined, [id])).toBe(false);
    expect(isAllowedOrigin('--parent-window=0', [id])).toBe(false);
  });
});
