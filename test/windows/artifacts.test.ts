/**
 * The other artifacts of `npm run package`, checked from Linux: the sums, the store zip of the
 * extension, the .deb (its Linux executable run from the unpacked tree), the macOS zips, and
 * the force-install policy imported into wine's registry.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { NATIVE_HOST_NAME, PROTOCOL_VERSION } from '#shared/protocol/constants.js';
import { allowedIds, packageConfig } from '../../scripts/package/config.mjs';
import { EXTENSION_OFFERS } from '../../scripts/package/msi.mjs';
import { ARTIFACTS, artifact, frames, readFrames, regQuery, wine, winPath } from './wine.js';

const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;
const config = packageConfig();

describe('npm run package artifacts', () => {
  it('lists every artifact in SHA256SUMS, and the sums hold', () => {
    const listed = fs
      .readFileSync(artifact('SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[1]);
    expect(listed.sort()).toEqual(
      fs
        .readdirSync(ARTIFACTS)
        .filter((f) => f !== 'SHA256SUMS')
        .sort(),
    );
    expect(listed).toEqual(
      expect.arrayContaining([
        'anaf-token.exe',
        `anaf-token-${version}-x64.msi`,
        `anaf-token-${version}-x64-machine.msi`,
        `anaf-token-${version}-windows-x64.zip`,
        'anaf-token-force-install.reg',
        `anaf-token-${version}-macos-arm64.zip`,
        `anaf-token-${version}-macos-x64.zip`,
        `anaf-token_${version}_amd64.deb`,
        `anaf-token-extension-${version}.zip`,
      ]),
    );
    expect(spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: ARTIFACTS }).status).toBe(0);
  });

  it('zips the extension for the stores: no key, no source maps, nothing pointing at one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-ext-zip-'));
    execFileSync('unzip', ['-q', artifact(`anaf-token-extension-${version}.zip`), '-d', dir]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.key).toBeUndefined();
    expect(manifest.version).toBe(version);
    expect(manifest.manifest_version).toBe(3);
    const files = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    for (const f of files.filter((f) => /\.(js|css)$/.test(f))) expect(fs.readFileSync(f, 'utf8')).not.toMatch(/sourceMappingURL/);
    expect(files.some((f) => f.endsWith('service-worker-loader.js'))).toBe(true);
  });

  it('builds a .deb whose executable runs as the CLI and as the native host, with the manifests and the user unit', () => {
    const deb = artifact(`anaf-token_${version}_amd64.deb`);
    const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' });
    expect(control).toMatch(new RegExp(`^Version: ${version.replace(/\./g, '\\.')}$`, 'm'));
    expect(control).toMatch(/^Architecture: amd64$/m);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-deb-'));
    execFileSync('dpkg-deb', ['-x', deb, root]);
    const exe = path.join(root, 'usr/lib/anaf-token/anaf-token');
    expect(execFileSync(path.join(root, 'usr/bin/anaf-token'), ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
    for (const dir of ['etc/opt/chrome', 'etc/chromium', 'etc/opt/edge']) {
      const m = JSON.parse(fs.readFileSync(path.join(root, dir, 'native-messaging-hosts', `${NATIVE_HOST_NAME}.json`), 'utf8')) as Record<string, unknown>;
      expect(m).toMatchObject({
        name: NATIVE_HOST_NAME,
        path: '/usr/lib/anaf-token/anaf-token',
        type: 'stdio',
        allowed_origins: allowedIds(config).map((id: string) => `chrome-extension://${id}/`),
      });
    }
    const unit = fs.readFileSync(path.join(root, 'usr/lib/systemd/user/anaf-token.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/lib/anaf-token/anaf-token serve --port 8787\n');
    expect(unit).not.toContain('ANAF_TOKEN_HOME');
    // Started as the browser starts it: the origin first, no `native`.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-deb-home-'));
    const r = spawnSync(exe, [`chrome-extension://${EXTENSION_ID}/`], {
      input: frames([{ id: 'd1', type: 'hello', protocol: PROTOCOL_VERSION }]),
      env: { ...process.env, ANAF_TOKEN_HOME: home },
    });
    expect(readFrames(r.stdout)).toEqual([expect.objectContaining({ id: 'd1', ok: true })]);
    // The hidden worker subcommand answers a malformed request with BAD_REQUEST (it is the worker, not the CLI).
    const w = spawnSync(exe, ['__pkcs11-worker'], { input: '{"op":"nothing"}' });
    expect(JSON.parse(w.stdout.toString())).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  for (const arch of ['arm64', 'x64'] as const) {
    it(`zips the macOS ${arch} executable (Mach-O with a NODE_SEA segment), manifest, plist and install.command`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-mac-'));
      execFileSync('unzip', ['-q', artifact(`anaf-token-${version}-macos-${arch}.zip`), '-d', dir]);
      const exe = fs.readFileSync(path.join(dir, 'anaf-token', 'anaf-token'));
      // MH_MAGIC_64, and the CPU type: 0x0100000c arm64, 0x01000007 x86_64.
      expect(exe.readUInt32LE(0)).toBe(0xfeedfacf);
      expect(exe.readUInt32LE(4)).toBe(arch === 'arm64' ? 0x0100000c : 0x01000007);
      expect(exe.includes(Buffer.from('NODE_SEA\0'))).toBe(true);
      expect(fs.statSync(path.join(dir, 'anaf-token', 'anaf-token')).mode & 0o111).not.toBe(0);
      expect(fs.statSync(path.join(dir, 'anaf-token', 'install.command')).mode & 0o111).not.toBe(0);
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'anaf-token', `${NATIVE_HOST_NAME}.json`), 'utf8')) as { path: string };
      expect(m.path).toBe('/Applications/anaf-token/anaf-token');
      expect(fs.readFileSync(path.join(dir, 'anaf-token', 'ro.anaftoken.serve.plist'), 'utf8')).toContain(
        '<string>/Applications/anaf-token/anaf-token</string>\n    <string>serve</string>',
      );
    });
  }

  it('writes a force-install policy for Chrome and Edge that regedit imports', () => {
    const reg = fs.readFileSync(artifact('anaf-token-force-install.reg'));
    expect([...reg.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(wine('reg', ['import', winPath(artifact('anaf-token-force-install.reg'))]).code).toBe(0);
    const [chrome, edge] = EXTENSION_OFFERS(config);
    expect(regQuery('HKLM\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist', '1')).toBe(`${config.chromeWebStoreId};${chrome!.updateUrl}`);
    expect(regQuery('HKLM\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist', '1')).toBe(`${config.edgeAddonsId};${edge!.updateUrl}`);
    expect(wine('reg', ['delete', 'HKLM\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist', '/f']).code).toBe(0);
    expect(wine('reg', ['delete', 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist', '/f']).code).toBe(0);
  });
});
