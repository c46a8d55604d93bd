/** anaf-token.exe under wine: the single executable starts, reports itself, and its doctor runs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ResEdit from 'resedit';
import { describe, expect, it } from 'vitest';
import { messagesFor } from '#shared/errors.js';
import { artifact, installed, wine, winPath } from './wine.js';

const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('anaf-token.exe (wine)', () => {
  it('prints its version', () => {
    const r = wine(installed('anaf-token.exe'), ['--version']);
    expect(r.stderr).not.toMatch(/ExperimentalWarning|single executable/i);
    expect(r.text.trim()).toBe(version);
    expect(r.code).toBe(0);
  });

  it('carries our icon and version information, and no Authenticode signature of Node', () => {
    const exe = ResEdit.NtExecutable.from(fs.readFileSync(artifact('anaf-token.exe')), { ignoreCert: true });
    const res = ResEdit.NtExecutableResource.from(exe);
    const [vi] = ResEdit.Resource.VersionInfo.fromEntries(res.entries);
    const strings = vi!.getStringValues({ lang: 1033, codepage: 1200 });
    expect(strings.ProductName).toBe('anaf-token');
    expect(strings.FileVersion).toBe(version);
    expect(strings.FileDescription).toMatch(/ANAF/);
    expect(vi!.fixedInfo.fileVersionMS).toBe((Number(version.split('.')[0]) << 16) | Number(version.split('.')[1]));
    const groups = ResEdit.Resource.IconGroupEntry.fromEntries(res.entries);
    expect(
      groups
        .find((g) => g.id === 1)
        ?.icons.map((i) => i.width || 256)
        .sort((a, b) => a - b),
    ).toEqual([16, 32, 48, 128]);
    // The security directory (index 4) is empty: the broken signature was removed before injecting.
    expect(exe.getSectionByEntry(ResEdit.Format.ImageDirectoryEntry.Certificate)).toBeNull();
    expect(exe.newHeader.optionalHeaderDataDirectory.get(ResEdit.Format.ImageDirectoryEntry.Certificate).size).toBe(0);
    // The SEA blob is a resource of its own.
    expect(res.entries.some((e) => e.type === 10 && e.id === 'NODE_SEA_BLOB')).toBe(true);
  });

  it('runs doctor --json with a fresh data folder', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-home-'));
    const r = wine(installed('anaf-token.exe'), ['doctor', '--json'], { env: { ANAF_TOKEN_HOME: winPath(home) } });
    const report = JSON.parse(r.text) as { findings: { check: string; status: string; message: string }[] };
    const checks = report.findings.map((f) => f.check);
    expect(checks).toEqual(expect.arrayContaining(['native-host', 'vault', 'pkcs11']));
    expect(report.findings.find((f) => f.check === 'vault')?.message).toMatch(/no vault yet/);
    expect([0, messagesFor('CHECKS_FAILED').exit]).toContain(r.code);
  });

  it('keeps a code cache of the host bundle per command, and a damaged one is only compiled again and replaced', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-cache-'));
    const env = { ANAF_TOKEN_CACHE_DIR: winPath(dir) };
    expect(wine(installed('anaf-token.exe'), ['--version'], { env }).text.trim()).toBe(version);
    const [name] = fs.readdirSync(dir);
    expect(name).toMatch(/^host-[A-Za-z0-9]+\.cjs\.none\.v22\.\d+\.\d+-x64\.v8cache$/);
    const file = path.join(dir, name!);
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 7));
    expect(wine(installed('anaf-token.exe'), ['--version'], { env }).text.trim()).toBe(version);
    expect(fs.readFileSync(file).every((b) => b === 7)).toBe(false);
    expect(wine(installed('anaf-token.exe'), ['--version'], { env: { ...env, ANAF_TOKEN_CODE_CACHE: 'off' } }).text.trim()).toBe(version);
  });

  it('refuses an unknown option with the usage exit code', () => {
    expect(wine(installed('anaf-token.exe'), ['--no-such-option']).code).toBe(2);
  });
});
