/**
 * The MSIs: their tables read with msiinfo (msitools), then installed and removed with wine's
 * msiexec, the registry read back with `reg query` after each step.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATIVE_HOST_NAME } from '#shared/protocol/constants.js';
import { allowedIds, packageConfig } from '../../scripts/package/config.mjs';
import { EXTENSION_OFFERS, nativeMessagingKeys } from '../../scripts/package/msi.mjs';
import { msiFile, regKeyExists, regQuery, wine, winePrefix, wineUserDir, winPath } from './wine.js';

const config = packageConfig();
const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;

/** One msiinfo table as rows of named columns. */
function table(msi: string, name: string): Record<string, string>[] {
  const [header, , , ...rows] = execFileSync('msiinfo', ['export', msi, name], { encoding: 'utf8' }).split(/\r?\n/).filter(Boolean);
  const cols = header!.split('\t');
  return rows.map((r) => Object.fromEntries(r.split('\t').map((v, i) => [cols[i], v])));
}

describe('MSI tables (msiinfo)', () => {
  for (const scope of ['user', 'machine'] as const) {
    it(`${scope}: files, registry, upgrade and install scope`, () => {
      const msi = msiFile(scope);
      const tables = execFileSync('msiinfo', ['tables', msi], { encoding: 'utf8' }).split(/\r?\n/);
      expect(tables).toEqual(expect.arrayContaining(['File', 'Component', 'Registry', 'Feature', 'Upgrade', 'Directory', 'RemoveFile']));

      const files = table(msi, 'File').map((f) => f.FileName!.split('|').pop());
      expect(files).toEqual(expect.arrayContaining(['anaf-token.exe', 'anaf-token-launcher.exe', `${NATIVE_HOST_NAME}.json`]));

      const root = scope === 'user' ? '1' : '2'; // HKCU, HKLM
      const registry = table(msi, 'Registry');
      for (const { key } of nativeMessagingKeys()) {
        expect(registry).toContainEqual(expect.objectContaining({ Root: root, Key: key, Name: '', Value: `[INSTALLDIR]${NATIVE_HOST_NAME}.json` }));
      }
      for (const o of EXTENSION_OFFERS(config)) {
        expect(registry).toContainEqual(expect.objectContaining({ Root: root, Key: o.key, Name: 'update_url', Value: o.updateUrl }));
      }

      const dirs = Object.fromEntries(table(msi, 'Directory').map((d) => [d.Directory, d]));
      expect(dirs.INSTALLDIR?.DefaultDir).toBe('anaf-token');
      if (scope === 'user') {
        expect(dirs.INSTALLDIR?.Directory_Parent).toBe('ProgramsFolder');
        expect(dirs.ProgramsFolder).toMatchObject({ Directory_Parent: 'LocalAppDataFolder', DefaultDir: 'Programs' });
      } else {
        expect(dirs.INSTALLDIR?.Directory_Parent).toBe('ProgramFiles64Folder');
      }

      const props = Object.fromEntries(table(msi, 'Property').map((p) => [p.Property, p.Value]));
      expect(props.ProductVersion).toBe(version);
      expect(props.UpgradeCode).toBe(`{${scope === 'user' ? config.upgradeCodePerUser : config.upgradeCodePerMachine}}`);
      expect(props.ALLUSERS).toBe(scope === 'user' ? undefined : '1');
      // MajorUpgrade: a newer version removes older ones; an older one is refused.
      expect(
        table(msi, 'Upgrade')
          .map((u) => u.ActionProperty)
          .sort(),
      ).toEqual(['WIX_DOWNGRADE_DETECTED', 'WIX_UPGRADE_DETECTED']);
      expect(table(msi, 'InstallExecuteSequence').map((a) => a.Action)).toContain('RemoveExistingProducts');

      // Word count 10: compressed, and (per user) no elevation needed.
      const summary = execFileSync('msiinfo', ['suminfo', msi], { encoding: 'utf8' });
      expect(summary).toMatch(scope === 'user' ? /^Source: 10 /m : /^Source: 2 /m);
      expect(summary).toMatch(/^Template: x64;1033$/m);
    });
  }
});

describe('msiexec under wine', () => {
  const installDir = () => wineUserDir('AppData', 'Local', 'Programs', 'anaf-token');
  const winInstallDir = () => `C:\\users\\${path.basename(wineUserDir())}\\AppData\\Local\\Programs\\anaf-token`;

  it('per user: installs into %LOCALAPPDATA%\\Programs, registers every browser and offers the extension; /x removes it all', () => {
    const msi = winPath(msiFile('user'));
    {
      const r = wine('msiexec', ['/i', msi, '/qn']);
      expect(r.code, `msiexec: ${r.stderr.slice(-800)}`).toBe(0);
    }

    for (const { key } of nativeMessagingKeys()) expect(regQuery(`HKCU\\${key}`)).toBe(`${winInstallDir()}\\${NATIVE_HOST_NAME}.json`);
    for (const o of EXTENSION_OFFERS(config)) expect(regQuery(`HKCU\\${o.key}`, 'update_url')).toBe(o.updateUrl);

    const manifest = JSON.parse(fs.readFileSync(path.join(installDir(), `${NATIVE_HOST_NAME}.json`), 'utf8')) as Record<string, unknown>;
    expect(manifest).toEqual({
      name: NATIVE_HOST_NAME,
      description: expect.any(String),
      path: 'anaf-token.exe',
      type: 'stdio',
      allowed_origins: allowedIds(config).map((id: string) => `chrome-extension://${id}/`),
    });
    const installed = wine(`${winInstallDir()}\\anaf-token.exe`, ['--version']);
    expect(installed.text.trim()).toBe(version);
    // doctor follows each registration to the manifest and runs the executable it names, as the browser would.
    const doctor = wine(`${winInstallDir()}\\anaf-token.exe`, ['doctor', '--json']);
    const nativeHost = (JSON.parse(doctor.text) as { findings: { check: string; status: string; subject?: string; message: string }[] }).findings.filter(
      (f) => f.check === 'native-host',
    );
    expect(nativeHost.map((f) => [f.subject, f.status])).toEqual([
      ['chrome', 'ok'],
      ['edge', 'ok'],
      ['brave', 'ok'],
    ]);

    {
      const r = wine('msiexec', ['/x', msi, '/qn']);
      expect(r.code, `msiexec: ${r.stderr.slice(-800)}`).toBe(0);
    }
    for (const { key } of nativeMessagingKeys()) expect(regKeyExists(`HKCU\\${key}`)).toBe(false);
    for (const o of EXTENSION_OFFERS(config)) expect(regKeyExists(`HKCU\\${o.key}`)).toBe(false);
    expect(regKeyExists('HKCU\\Software\\anaf-token')).toBe(false);
    expect(fs.existsSync(installDir())).toBe(false);
  });

  it('per user with ADDLOCAL=Main: the host without the extension offer', () => {
    const msi = winPath(msiFile('user'));
    {
      const r = wine('msiexec', ['/i', msi, '/qn', 'ADDLOCAL=Main']);
      expect(r.code, `msiexec: ${r.stderr.slice(-800)}`).toBe(0);
    }
    expect(regQuery(`HKCU\\${nativeMessagingKeys()[0]!.key}`)).toBe(`${winInstallDir()}\\${NATIVE_HOST_NAME}.json`);
    for (const o of EXTENSION_OFFERS(config)) expect(regKeyExists(`HKCU\\${o.key}`)).toBe(false);
    {
      const r = wine('msiexec', ['/x', msi, '/qn']);
      expect(r.code, `msiexec: ${r.stderr.slice(-800)}`).toBe(0);
    }
    expect(fs.existsSync(installDir())).toBe(false);
  });

  it('per machine: Program Files and HKLM (extension keys in the 32-bit view); /x removes it all', () => {
    const msi = winPath(msiFile('machine'));
    {
      const r = wine('msiexec', ['/i', msi, '/qn']);
      expect(r.code, `msiexec: ${r.stderr.slice(-800)}`).toBe(0);
    }
    const dir = path.join(winePrefix(), 'drive_c', 'Program Files', 'anaf-token');
    expect(fs.existsSync(path.join(dir, 'anaf-token.exe'))).toBe(true);
    for (const { key } of nativeMessagingKeys()) expect(regQuery(`HKLM\\${key}`)).toBe(`C:\\Program Files\\anaf-token\\${NATIVE_HOST_NAME}.json`);
    for (const o of EXTENSION_OFFERS(config)) {
      expect(regQuery(`HKLM\\${o.key.replace(/^Software\\/, 'Software\\Wow6432Node\\')}`, 'update_url')).toBe(o.updateUrl);
    }
    {
      const r = wine('msiexec', ['/x', msi, '/qn']);
      expect(r.code, `msiexec: ${r.stderr.slice(-800)}`).toBe(0);
    }
    for (const { key } of nativeMessagingKeys()) expect(regKeyExists(`HKLM\\${key}`)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
