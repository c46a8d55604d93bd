/**
 * Chrome's native messaging framing: a 32-bit little-endian length, then that many bytes of
 * UTF-8 JSON, both ways. The reader caps the length and survives bad JSON: a host must answer a
 * bad frame with an error, not die.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { MAX_FROM_BROWSER_BYTES } from '#shared/protocol/requests.js';

export type Frame =
  | { kind: 'message'; value: unknown; bytes: number }
  | { kind: 'bad-json'; bytes: number }
  /** The length header is over the cap: the stream cannot be resynchronised after this. */
  | { kind: 'too-large'; bytes: number };

export class FrameReader extends Transform {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need: number | undefined;
  private broken = false;

  constructor(private readonly maxBytes = MAX_FROM_BROWSER_BYTES) {
    super({ readableObjectMode: true });
  }

  /** Bytes of an unfinished frame when the stream ended (a truncated message). */
  get pendingBytes(): number {
    return this.buffered;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.broken) return done();
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need === undefined) {
        if (this.buffered < 4) break;
        const len = this.takeBytes(4).readUInt32LE(0);
        if (len > this.maxBytes) {
          this.broken = true;
          this.chunks = [];
          this.buffered = 0;
          this.push({ kind: 'too-large', bytes: len } satisfies Frame);
          break;
        }
        this.need = len;
      }
      if (this.buffered < this.need) break;
      const body = this.takeBytes(this.need);
      this.need = undefined;
      let frame: Frame;
      try {
        frame = { kind: 'message', value: JSON.parse(body.toString('utf8')), bytes: body.length };
      } catch {
        frame = { kind: 'bad-json', bytes: body.length };
      }
      this.push(frame);
    }
    done();
  }

  private takeBytes(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }
}

/** A message as one frame: its length, then its JSON. */
export function encodeFrame(value: unknown): Buffer {
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(4 + bytes);
  frame.writeUInt32LE(bytes, 0);
  frame.write(text, 4, 'utf8');
  return frame;
}
