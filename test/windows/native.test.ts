/**
 * The native messaging exchange as Chrome on Windows makes it, through files: the browser's
 * origin as the first argument (plus --parent-window), length-prefixed JSON on stdin, the
 * answers read back from stdout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { PROTOCOL_VERSION } from '#shared/protocol/constants.js';
import { frames, installed, readFrames, wine, winPath } from './wine.js';

const home = () => winPath(fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-native-')));

describe('native messaging through anaf-token.exe (wine)', () => {
  it('answers each framed request when started with the extension origin, as Chrome starts it', () => {
    const input = frames([
      { id: 'a1', type: 'hello', protocol: PROTOCOL_VERSION },
      { id: 'a2', type: 'no.such.request' },
      { id: 'a3', type: 'hello', protocol: PROTOCOL_VERSION },
    ]);
    const r = wine(installed('anaf-token.exe'), [`chrome-extension://${EXTENSION_ID}/`, '--parent-window=0'], {
      stdin: input,
      env: { ANAF_TOKEN_HOME: home() },
    });
    // Answers go out as each request finishes: not necessarily in order.
    const answers = (readFrames(r.stdout) as { id: string; ok: boolean; error?: { code: string } }[]).sort((a, b) => a.id.localeCompare(b.id));
    expect(answers.map((a) => [a.id, a.ok])).toEqual([
      ['a1', true],
      ['a2', false],
      ['a3', true],
    ]);
    expect(answers[1]!.error?.code).toBe('BAD_REQUEST');
    expect(r.code).toBe(0);
  });

  it('refuses an origin that is not allowed, with one framed error', () => {
    const other = `chrome-extension://${'b'.repeat(32)}/`;
    const r = wine(installed('anaf-token.exe'), [other], {
      stdin: frames([{ id: 'x', type: 'hello', protocol: PROTOCOL_VERSION }]),
      env: { ANAF_TOKEN_HOME: home() },
    });
    const answers = readFrames(r.stdout) as { ok: boolean; error?: { code: string } }[];
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ ok: false, error: { code: 'ORIGIN_NOT_ALLOWED' } });
    expect(r.code).toBe(1);
  });
});
