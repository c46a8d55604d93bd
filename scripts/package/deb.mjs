// Debian/Ubuntu: a .deb (dpkg-deb) with the Linux single executable in /usr/lib/anaf-token
// (`anaf-token` in /usr/bin links to it), the native messaging manifests where Chrome, Chromium
// and Edge read system-wide ones, and the systemd user unit (enabled per user:
// `systemctl --user enable --now anaf-token`).
import fs from 'node:fs';
import path from 'node:path';
import { run } from './run.mjs';

export const DEB_BIN = '/usr/lib/anaf-token/anaf-token';
/** System-wide native messaging folders (Chrome, Chromium, Edge on Linux). */
export const DEB_MANIFEST_DIRS = ['/etc/opt/chrome/native-messaging-hosts', '/etc/chromium/native-messaging-hosts', '/etc/opt/edge/native-messaging-hosts'];

export function buildDeb({ exe, natives, manifest, unit, version, work, output }) {
  const root = path.join(work, 'deb');
  fs.rmSync(root, { recursive: true, force: true });
  const at = (p) => path.join(root, p);
  fs.mkdirSync(at('usr/lib/anaf-token'), { recursive: true });
  fs.copyFileSync(exe, at(DEB_BIN));
  fs.chmodSync(at(DEB_BIN), 0o755);
  natives(at('usr/lib/anaf-token'));
  fs.mkdirSync(at('usr/bin'), { recursive: true });
  fs.symlinkSync('../lib/anaf-token/anaf-token', at('usr/bin/anaf-token'));
  const conffiles = [];
  for (const dir of DEB_MANIFEST_DIRS) {
    fs.mkdirSync(at(dir), { recursive: true });
    fs.writeFileSync(at(`${dir}/ro.anaftoken.host.json`), manifest);
    conffiles.push(`${dir}/ro.anaftoken.host.json`);
  }
  fs.mkdirSync(at('usr/lib/systemd/user'), { recursive: true });
  fs.writeFileSync(at('usr/lib/systemd/user/anaf-token.service'), unit);
  fs.mkdirSync(at('usr/share/doc/anaf-token'), { recursive: true });
  fs.copyFileSync('docs/packaging.md', at('usr/share/doc/anaf-token/packaging.md'));

  const installedKb = Math.ceil(dirSize(root) / 1024);
  fs.mkdirSync(at('DEBIAN'));
  fs.writeFileSync(
    at('DEBIAN/control'),
    [
      'Package: anaf-token',
      `Version: ${version}`,
      'Architecture: amd64',
      'Section: utils',
      'Priority: optional',
      'Maintainer: anaf-token <anaf-token@users.noreply.github.com>',
      `Installed-Size: ${installedKb}`,
      // The Node 22 binary links these dynamically.
      'Depends: libc6 (>= 2.28), libstdc++6, libgcc-s1',
      'Description: ANAF OAuth token for e-Factura and e-Transport',
      ' Gets and keeps the ANAF OAuth token with the USB signature key (through the',
      ' browser extension), and hands it to the ERP through a local service.',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(at('DEBIAN/conffiles'), `${conffiles.join('\n')}\n`);
  fs.rmSync(output, { force: true });
  // gzip: every dpkg reads it, and it takes 5 s here where xz takes one to three minutes (a 125 MB binary).
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, output]);
  return output;
}

function dirSize(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => {
    const p = path.join(dir, e.name);
    return n + (e.isDirectory() ? dirSize(p) : e.isSymbolicLink() ? 0 : fs.statSync(p).size);
  }, 0);
}
