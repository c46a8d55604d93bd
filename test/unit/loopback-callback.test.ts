/** The parts of `authorize --listen` that need no process: where it listens, its pages, when it opens a browser. */
import { describe, expect, it } from 'vitest';
import { AppError } from '#shared/errors.js';
import { callbackTarget, errorPage } from '../../native-host/src/oauth/loopback-callback.js';
import { openInBrowser } from '../../native-host/src/cli/open-browser.js';

describe('authorize --listen', () => {
  it('listens where the profile sends the browser: https on localhost or 127.0.0.1 only', () => {
    expect(callbackTarget('https://localhost:8443/anaf/callback')).toEqual({
      port: 8443,
      registeredPort: 8443,
      path: '/anaf/callback',
      origin: 'https://localhost:8443',
    });
    expect(callbackTarget('https://127.0.0.1/cb?x=1')).toMatchObject({ port: 443, registeredPort: 443, path: '/cb' });
    // An explicit port (behind a forwarded port) listens there; the browser still goes to the registered one.
    expect(callbackTarget('https://localhost:8443/cb', 9000)).toMatchObject({ port: 9000, registeredPort: 8443 });
    for (const [uri, suggested] of [
      ['https://erp.example.ro/anaf/callback', 'https://localhost:8443/anaf/callback'],
      ['http://localhost:8080/cb', 'https://localhost:8080/cb'],
      ['https://[::1]:7000/', 'https://localhost:8443/anaf/callback'],
    ] as const) {
      let err: unknown;
      try {
        callbackTarget(uri);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CALLBACK_INVALID');
      expect((err as AppError).detail).toContain(suggested);
      expect((err as AppError).detail).toContain("ANAF's portal");
    }
  });

  it('escapes what it shows the browser, and redacts tokens from a detail', () => {
    const html = errorPage(new AppError('AUTHORIZATION_FAILED', '<script>x</script> eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('[jwt]');
    expect(html).toContain('AUTHORIZATION_FAILED');
    expect(errorPage(new AppError('NO_TOKEN'))).toContain('&lt;nume&gt;');
  });

  it('opens no browser on Linux without a graphical session', () => {
    expect(openInBrowser('https://logincert.anaf.ro/anaf-oauth2/v1/authorize', {}, 'linux')).toBe(false);
    expect(openInBrowser('https://a.example/"x', {}, 'win32')).toBe(false);
  });
});
