import crypto from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, EXTENSION_ID, EXTENSION_PUBLIC_KEY, messagesFor, parseRequest, profileInputSchema } from '#shared/index.js';
import { HOST_VERSION } from '../../native-host/src/version.js';

describe('shared definitions', () => {
  it('derives the fixed extension ID from the manifest key', () => {
    const hex = crypto.createHash('sha256').update(Buffer.from(EXTENSION_PUBLIC_KEY, 'base64')).digest('hex').slice(0, 32);
    const id = [...hex].map((c) => String.fromCharCode('a'.charCodeAt(0) + parseInt(c, 16))).join('');
    expect(id).toBe(EXTENSION_ID);
  });

  it('keeps the host version in step with package.json', () => {
    expect(JSON.parse(fs.readFileSync('package.json', 'utf8')).version).toBe(HOST_VERSION);
  });

  it('has a Romanian and an English message for every error code', () => {
    for (const code of ERROR_CODES) {
      const m = messagesFor(code);
      expect(m.en.length).toBeGreaterThan(10);
      expect(m.ro.length).toBeGreaterThan(10);
      expect(m.ro).not.toBe(m.en);
    }
  });

  it('parses requests strictly', () => {
    expect(parseRequest({ id: '1', type: 'status' })).toEqual({ success: true, data: { id: '1', type: 'status' } });
    expect(parseRequest({ id: '1', type: 'status', extra: 1 })).toEqual({ success: false, issue: { path: 'message', code: 'unrecognized_keys' } });
    expect(parseRequest({ id: '1', type: 'nope' })).toEqual({ success: false, issue: { path: 'type', code: 'invalid_union' } });
    expect(parseRequest({ id: '1', type: 'toString' })).toMatchObject({ success: false, issue: { path: 'type' } });
    expect(parseRequest({ id: '1', type: '__proto__' })).toMatchObject({ success: false, issue: { path: 'type' } });
    expect(parseRequest([{ id: '1', type: 'status' }])).toMatchObject({ success: false, issue: { path: 'message' } });
    expect(parseRequest(null)).toMatchObject({ success: false, issue: { path: 'message' } });
    expect(parseRequest({ id: '', type: 'status' })).toEqual({ success: false, issue: { path: 'id', code: 'too_small' } });
    expect(parseRequest({ id: '1', type: 'authorize.start', profile: '../x' })).toEqual({ success: false, issue: { path: 'profile', code: 'invalid_format' } });
    const complete = { id: '1', type: 'authorize.complete', profile: 'firma' };
    expect(parseRequest({ ...complete, callbackUrl: 'https://erp.example.ro/cb?code=c&state=s' }).success).toBe(true);
    // Only the callback URL the browser was sent to: a bare code and state are not taken.
    expect(parseRequest({ ...complete, code: 'c', state: 's' }).success).toBe(false);
    expect(parseRequest({ ...complete, code: 'c', callbackUrl: 'https://erp.example.ro/cb?code=c' }).success).toBe(false);
    expect(
      parseRequest({ ...complete, profile: 'firma', type: 'profile.save', name: 'firma', clientId: 'c', redirectUri: 'https://x/cb', env: 'prod' }).success,
    ).toBe(false);
    // The same parse the second time (the schema is built once, then kept).
    expect(parseRequest({ id: '2', type: 'status' }).success).toBe(true);
  });

  it('accepts https environments and ANAF names only', () => {
    const base = { name: 'p', clientId: 'c', clientSecret: 's', redirectUri: 'https://erp.example.ro/cb' };
    expect(profileInputSchema().safeParse({ ...base, env: 'prod' }).success).toBe(true);
    expect(profileInputSchema().safeParse({ ...base, env: 'https://127.0.0.1:8443' }).success).toBe(true);
    expect(profileInputSchema().safeParse({ ...base, env: 'http://127.0.0.1:8443' }).success).toBe(false);
    expect(profileInputSchema().safeParse({ ...base, env: 'staging' }).success).toBe(false);
    expect(profileInputSchema().safeParse({ ...base, env: 'prod', redirectUri: 'https://x/cb#frag' }).success).toBe(false);
  });
});
