/** npm run package's build settings and generated texts (scripts/package/), without building anything. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { allowedIds, packageConfig } from '../../scripts/package/config.mjs';
import { nativeMessagingKeys, wxs } from '../../scripts/package/msi.mjs';
import { tempDir } from '../helpers/temp.js';

describe('package build settings', () => {
  it('defaults both store IDs to the ID fixed by the manifest key, and takes overrides from the environment', () => {
    const c = packageConfig({});
    expect([c.chromeWebStoreId, c.edgeAddonsId]).toEqual([EXTENSION_ID, EXTENSION_ID]);
    expect(allowedIds(c)).toEqual([EXTENSION_ID]);
    const o = packageConfig({ ANAF_TOKEN_CHROME_WEB_STORE_ID: 'a'.repeat(32), ANAF_TOKEN_EDGE_ADDONS_ID: 'b'.repeat(32) });
    expect(allowedIds(o)).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
    expect(() => packageConfig({ ANAF_TOKEN_EDGE_ADDONS_ID: 'not-an-id' })).toThrow(/not an extension ID/);
  });

  it('reads another config file when asked', () => {
    const file = path.join(tempDir('pkgcfg'), 'c.json');
    const base = JSON.parse(fs.readFileSync('scripts/package/package.config.json', 'utf8')) as Record<string, string>;
    fs.writeFileSync(file, JSON.stringify({ ...base, edgeAddonsId: 'c'.repeat(32) }));
    expect(packageConfig({ ANAF_TOKEN_PACKAGE_CONFIG: file }).edgeAddonsId).toBe('c'.repeat(32));
  });
});

describe('MSI source', () => {
  const stage = tempDir('msi-stage');
  fs.writeFileSync(path.join(stage, 'anaf-token.exe'), '');
  fs.mkdirSync(path.join(stage, 'node_modules', 'koffi'), { recursive: true });
  fs.writeFileSync(path.join(stage, 'node_modules', 'koffi', 'index.js'), '');
  const make = (scope: 'user' | 'machine') => wxs({ scope, stage, version: '1.2.3', config: packageConfig({}), icon: 'x.ico' });

  it('keeps component GUIDs from one build to the next, and apart between the two scopes', () => {
    const guids = (s: string) => [...s.matchAll(/Component Id="([^"]+)" Guid="([^"]+)"/g)].map((m) => `${m[1]}=${m[2]}`);
    expect(guids(make('user'))).toEqual(guids(make('user')));
    expect(guids(make('user')).length).toBeGreaterThan(5);
    const user = new Set(guids(make('user')).map((g) => g.split('=')[1]));
    expect(guids(make('machine')).some((g) => user.has(g.split('=')[1]))).toBe(false);
  });

  it('registers every browser under HKCU per user and HKLM per machine, and nests folders', () => {
    const user = make('user');
    for (const { key } of nativeMessagingKeys())
      expect(user).toContain(`<RegistryValue Root="HKCU" Key="${key}" Type="string" Value="[INSTALLDIR]ro.anaftoken.host.json" KeyPath="yes"/>`);
    expect(make('machine')).toContain('Root="HKLM" Key="Software\\Google\\Chrome\\NativeMessagingHosts\\ro.anaftoken.host"');
    expect(user).toContain('<Directory Id="d_node_modules" Name="node_modules">');
    expect(user).toContain('<Directory Id="d_node_modules_koffi" Name="koffi">');
    expect(user).toContain('InstallScope="perUser"');
    expect(make('machine')).toContain('<Directory Id="ProgramFiles64Folder">');
    expect(/[^\x00-\x7f]/.test(user)).toBe(false);
  });
});
