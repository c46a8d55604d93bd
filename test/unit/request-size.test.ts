/** The native frame cap is the longest valid request (issue 14, finding 9), computed from the request schemas' limits. */
import { describe, expect, it } from 'vitest';
import { MAX_FROM_BROWSER_BYTES, MAX_TO_BROWSER_BYTES, parseRequest } from '#shared/protocol/messages.js';
import { LARGEST_REQUEST, LARGEST_REQUESTS, encodedBytes } from '../helpers/largest-request.js';

describe('the native request size cap', () => {
  it('lets the longest valid request of every type through', () => {
    for (const [name, m] of Object.entries(LARGEST_REQUESTS)) {
      expect(parseRequest(m).success, name).toBe(true);
      expect(encodedBytes(m), name).toBeLessThanOrEqual(MAX_FROM_BROWSER_BYTES);
    }
  });

  it('is exactly the longest valid request: tens of KB, not 64 MiB; answers keep their own 1 MB cap', () => {
    expect(encodedBytes(LARGEST_REQUEST)).toBe(MAX_FROM_BROWSER_BYTES);
    expect(MAX_FROM_BROWSER_BYTES).toBeLessThan(128 * 1024);
    expect(MAX_TO_BROWSER_BYTES).toBe(1024 * 1024);
  });

  it('has no unbounded field: one more anywhere is not valid', () => {
    const longer = (over: Record<string, unknown>, base: string) => parseRequest({ ...LARGEST_REQUESTS[base], ...over }).success;
    expect(longer({ modules: Array.from({ length: 17 }, () => 'x') }, 'certs.list')).toBe(false);
    expect(longer({ modules: ['x'.repeat(1025)] }, 'certs.list')).toBe(false);
    expect(longer({ redirectUri: `https://erp.example.ro/${'a'.repeat(2048)}` }, 'profile.save')).toBe(false);
    expect(longer({ env: `https://erp.example.ro/${'a'.repeat(2048)}` }, 'profile.save')).toBe(false);
    expect(longer({ label: `x${' '.repeat(256)}` }, 'token.label')).toBe(false);
    expect(longer({ callbackUrl: `https://erp.example.ro/${'a'.repeat(8192)}` }, 'authorize.complete')).toBe(false);
  });
});
