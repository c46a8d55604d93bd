// `npm run package`: every artifact, built on Linux, into .artifacts/package/ (git-ignored):
//   anaf-token.exe                         Windows single executable alone (native addons go beside it)
//   anaf-token-<v>-windows-x64.zip         the folder the MSI installs (exe, launcher, addons, manifest)
//   anaf-token-<v>-x64.msi                 per-user MSI (no admin rights)
//   anaf-token-<v>-x64-machine.msi         per-machine MSI (for IT)
//   anaf-token-force-install.reg           Chrome/Edge ExtensionInstallForcelist policy
//   anaf-token-<v>-macos-arm64.zip / -x64  macOS executables (to be signed on a Mac)
//   anaf-token_<v>_amd64.deb               Debian/Ubuntu
//   anaf-token-extension-<v>.zip           the extension for the Chrome Web Store / Edge Add-ons
//   SHA256SUMS
// Run through tsx: the manifests, the systemd unit and the plist come from the host's own code.
// ANAF_TOKEN_PACKAGE_ONLY=windows builds only the Windows artifacts (the wine tests need no more).
import fs from 'node:fs';
import path from 'node:path';
import { hostManifest } from '../../native-host/src/install/install.ts';
import { launchdPlist } from '../../native-host/src/service/launchd-plist.ts';
import { systemdUnit } from '../../native-host/src/service/systemd-unit.ts';
import { allowedIds, packageConfig } from './config.mjs';
import { buildDeb, DEB_BIN } from './deb.mjs';
import { extensionZip } from './extension-zip.mjs';
import { ico } from './icon.mjs';
import { buildWindowsLauncher } from './launcher.mjs';
import { buildMacZip, MAC_DIR } from './mac.mjs';
import { buildMsi } from './msi.mjs';
import { writeNativePackages } from './natives.mjs';
import { nodeBinary } from './node-dist.mjs';
import { forceInstallReg } from './policy.mjs';
import { run, step } from './run.mjs';
import { buildSeaBlob, inject } from './sea.mjs';
import { writeSums } from './sums.mjs';
import { buildWindowsExe } from './windows-exe.mjs';

const t0 = Date.now();
const out = path.resolve(process.env.ANAF_TOKEN_PACKAGE_OUT ?? '.artifacts/package');
const work = path.resolve('.artifacts/package-work');
const cache = path.resolve('.artifacts/package-cache');
const only = process.env.ANAF_TOKEN_PACKAGE_ONLY;
const version = JSON.parse(fs.readFileSync('package.json', 'utf8')).version;
const config = packageConfig();
const ids = allowedIds(config);
const manifestFor = (exePath) => `${JSON.stringify(hostManifest(exePath, ids), null, 2)}\n`;

fs.rmSync(out, { recursive: true, force: true });
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
fs.mkdirSync(work, { recursive: true });

await step('build host bundle', () => run('node', ['scripts/build-host.mjs'], { stdio: 'inherit' }));
const hostBundle = path.join(
  'dist',
  fs.readdirSync('dist').find((f) => /^host-[A-Za-z0-9]+\.cjs$/.test(f)),
);
const linuxNode = await step('Node 22 binaries (pinned)', () => nodeBinary('linux-x64', cache));
const blob = await step('SEA blob', () => buildSeaBlob({ work: path.join(work, 'sea'), linuxNode, hostBundle, allowedExtensionIds: ids }));

// Windows: the executable, its launcher, the manifest beside them; the MSIs from that folder.
const win = path.join(work, 'windows');
fs.mkdirSync(win, { recursive: true });
const icon = path.join(work, 'anaf-token.ico');
fs.writeFileSync(icon, ico());
await step('anaf-token.exe', () => buildWindowsExe({ nodeExe: nodeBinary('win-x64', cache), blob, output: path.join(win, 'anaf-token.exe'), version }));
await step('anaf-token-launcher.exe', () => buildWindowsLauncher(path.join(win, 'anaf-token-launcher.exe')));
writeNativePackages(win, 'win32_x64');
// Chrome on Windows takes a `path` relative to the manifest's folder: the executable beside it.
fs.writeFileSync(path.join(win, 'ro.anaftoken.host.json'), manifestFor('anaf-token.exe'));
fs.copyFileSync(path.join(win, 'anaf-token.exe'), path.join(out, 'anaf-token.exe'));
// The same folder as the MSI installs, for a portable install or a firm's own deployment tool.
await step('Windows zip', () => run('zip', ['-X', '-q', '-r', path.join(out, `anaf-token-${version}-windows-x64.zip`), '.'], { cwd: win }));
await step('MSI (per user)', () =>
  buildMsi({ scope: 'user', stage: win, version, config, icon, output: path.join(out, `anaf-token-${version}-x64.msi`), work }),
);
await step('MSI (per machine)', () =>
  buildMsi({ scope: 'machine', stage: win, version, config, icon, output: path.join(out, `anaf-token-${version}-x64-machine.msi`), work }),
);
fs.writeFileSync(path.join(out, 'anaf-token-force-install.reg'), forceInstallReg(config));

if (only !== 'windows') {
  const macExe = `${MAC_DIR}/anaf-token`;
  const plist = launchdPlist({ nodePath: macExe, dataDir: '/Users/USERNAME/Library/Application Support/anaf-token', port: 8787 });
  for (const arch of ['arm64', 'x64']) {
    await step(`macOS ${arch}`, () =>
      buildMacZip({
        arch,
        nodeBinary: nodeBinary(`darwin-${arch}`, cache),
        blob,
        manifest: manifestFor(macExe),
        plist,
        natives: (dir) => writeNativePackages(dir, `darwin_${arch}`),
        work,
        output: path.join(out, `anaf-token-${version}-macos-${arch}.zip`),
      }),
    );
  }

  const linuxExe = path.join(work, 'anaf-token-linux');
  await step('Linux executable', () => inject(linuxNode, blob, linuxExe));
  // The packaged unit leaves the data folder to the default (the user's ~/.local/share/anaf-token):
  // one unit file serves every user.
  const unit = systemdUnit({ nodePath: DEB_BIN, dataDir: '/unused', port: 8787 })
    .split('\n')
    .filter((l) => !l.startsWith('Environment="ANAF_TOKEN_HOME='))
    .join('\n');
  await step('.deb', () =>
    buildDeb({
      exe: linuxExe,
      natives: (dir) => writeNativePackages(dir, 'linux_x64'),
      manifest: manifestFor(DEB_BIN),
      unit,
      version,
      work,
      output: path.join(out, `anaf-token_${version}_amd64.deb`),
    }),
  );

  await step('extension zip', () => {
    run('npx', ['vite', 'build', '--logLevel', 'error'], { env: { ...process.env, ANAF_EXT_TEST_ORIGINS: '' } });
    return extensionZip({ built: 'dist/extension', work, output: path.join(out, `anaf-token-extension-${version}.zip`) });
  });
}

const files = writeSums(out);
for (const f of files) console.log(`  ${(fs.statSync(path.join(out, f)).size / 1e6).toFixed(1).padStart(6)} MB  ${f}`);
console.log(
  `package: ${files.length} artifacts in ${path.relative(process.cwd(), out)}/ (${((Date.now() - t0) / 1000).toFixed(0)} s); extension IDs allowed: ${ids.join(', ')}`,
);
