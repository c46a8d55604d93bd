/**
 * anaf-token-launcher.exe, which the scheduled task runs instead of a VBScript: it passes the
 * data folder as ANAF_TOKEN_HOME, runs the program with its arguments, waits, and returns its
 * exit code.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { installed, regQuery, wine, winPath } from './wine.js';

const launcher = () => installed('anaf-token-launcher.exe');

describe('anaf-token-launcher.exe (wine)', () => {
  it('is a GUI-subsystem program (no console window of its own)', () => {
    const pe = fs.readFileSync(launcher());
    const header = pe.readUInt32LE(0x3c);
    // IMAGE_OPTIONAL_HEADER64.Subsystem: 2 = Windows GUI (3 would be a console program).
    expect(pe.readUInt16LE(header + 24 + 68)).toBe(2);
  });

  it('runs the program with the data folder set, waits, and returns its exit code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf wine launcher '));
    // `install` writes config.json into ANAF_TOKEN_HOME: proof the launcher set it.
    const ok = wine(launcher(), [winPath(dir), winPath(installed('anaf-token.exe')), 'install', '--browser', 'edge', '--extension-id', 'c'.repeat(32)]);
    expect(ok.code).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { allowedExtensionIds: string[] };
    expect(config.allowedExtensionIds).toEqual(['c'.repeat(32)]);
    // Packaged, the registration names the executable itself: no .cmd launcher.
    const manifestPath = regQuery('HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\ro.anaftoken.host');
    expect(manifestPath).toMatch(/ro\.anaftoken\.host\.edge\.json$/);
    expect(fs.readdirSync(path.join(dir, 'native-host')).filter((f) => f.endsWith('.cmd'))).toEqual([]);
    expect(wine(installed('anaf-token.exe'), ['uninstall', '--browser', 'edge'], { env: { ANAF_TOKEN_HOME: winPath(dir) } }).code).toBe(0);

    expect(wine(launcher(), [winPath(dir), winPath(installed('anaf-token.exe')), '--no-such-option']).code).toBe(2);
    expect(wine(launcher(), [winPath(dir)]).code).toBe(2);
  });
});
