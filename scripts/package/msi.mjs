// The Windows installers, written as WiX source and built by Debian's wixl (msitools):
// - per user (the default download): %LOCALAPPDATA%\Programs\anaf-token, HKCU keys, no admin rights;
// - per machine (for IT): Program Files, HKLM keys, for every user of the machine.
// Both register the native messaging host for Chrome, Edge and Brave (the key's default value
// is the manifest's path; the manifest's `path` is the executable, relative to the manifest,
// which Chrome allows on Windows only), and, in the OfferExtension feature (left out with
// `msiexec /i … ADDLOCAL=Main`; wixl has no component conditions), the external-extension keys that make Chrome and Edge offer the extension from their store.
// MajorUpgrade with a fixed UpgradeCode replaces an older version; uninstall removes every
// file and key the MSI wrote (the user's data folder, %LOCALAPPDATA%\anaf-token, stays).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { requireTool, run } from './run.mjs';

export const HOST_NAME = 'ro.anaftoken.host';

const NM_KEYS = {
  chrome: 'Software\\Google\\Chrome\\NativeMessagingHosts',
  edge: 'Software\\Microsoft\\Edge\\NativeMessagingHosts',
  brave: 'Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts',
};
/** Where each browser looks for extensions to offer from its store, and that store's update URL. */
export const EXTENSION_OFFERS = (config) => [
  { browser: 'chrome', key: `Software\\Google\\Chrome\\Extensions\\${config.chromeWebStoreId}`, updateUrl: 'https://clients2.google.com/service/update2/crx' },
  {
    browser: 'edge',
    key: `Software\\Microsoft\\Edge\\Extensions\\${config.edgeAddonsId}`,
    updateUrl: 'https://edge.microsoft.com/extensionwebstorebase/v1/crx',
  },
];
export const nativeMessagingKeys = () => Object.entries(NM_KEYS).map(([browser, key]) => ({ browser, key: `${key}\\${HOST_NAME}` }));

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Stable GUIDs (name-based) so that a component keeps its identity from one version to the next. */
function guid(name) {
  const h = crypto.createHash('sha1').update(`anaf-token msi ${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}
const ident = (s) => s.replace(/[^A-Za-z0-9_.]/g, '_').replace(/^([^A-Za-z_])/, '_$1');

/** Every file under `dir`, as paths relative to it, folders first-level sorted. */
function walk(dir, rel = '') {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? walk(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

export function wxs({ scope, stage, version, config, icon }) {
  const perUser = scope === 'user';
  const root = perUser ? 'HKCU' : 'HKLM';
  const files = walk(stage);
  // A per-user component's key path must be a registry value under HKCU (a file in the
  // profile cannot be one); per machine, folders get one under HKLM the same way.
  const regKeyPath = (id) => `<RegistryValue Root="${root}" Key="Software\\anaf-token\\Installed" Name="${id}" Type="integer" Value="1" KeyPath="yes"/>`;

  // Folders as nested <Directory> elements; each file in its folder's component.
  const tree = { dirs: new Map(), files: [] };
  for (const f of files) {
    const parts = f.split(path.sep);
    let node = tree;
    for (const p of parts.slice(0, -1)) {
      if (!node.dirs.has(p)) node.dirs.set(p, { dirs: new Map(), files: [] });
      node = node.dirs.get(p);
    }
    node.files.push(f);
  }
  const componentIds = [];
  const emit = (node, indent, relDir) =>
    [
      ...node.files.map((f) => {
        const id = ident(`c_${f}`);
        componentIds.push(id);
        return `${indent}<Component Id="${id}" Guid="${guid(`${scope} ${f}`)}" Win64="yes">
${indent}  <File Id="${ident(`f_${f}`)}" Name="${esc(path.basename(f))}" Source="${esc(path.join(stage, f))}"${perUser ? '' : ' KeyPath="yes"'}/>
${indent}  ${perUser ? regKeyPath(id) : ''}
${indent}</Component>`;
      }),
      ...[...node.dirs].map(([name, child]) => {
        const rel = path.join(relDir, name);
        const dirId = ident(`d_${rel}`);
        const rmId = ident(`rm_${rel}`);
        componentIds.push(rmId);
        return `${indent}<Directory Id="${dirId}" Name="${esc(name)}">
${indent}  <Component Id="${rmId}" Guid="${guid(`${scope} dir ${rel}`)}" Win64="yes">
${indent}    <RemoveFolder Id="${ident(`rf_${rel}`)}" On="uninstall"/>
${indent}    ${regKeyPath(rmId)}
${indent}  </Component>
${emit(child, `${indent}  `, rel)}
${indent}</Directory>`;
      }),
    ].join('\n');

  const registry = nativeMessagingKeys()
    .map(({ browser, key }) => {
      const id = `nm_${browser}`;
      componentIds.push(id);
      return `        <Component Id="${id}" Guid="${guid(`${scope} ${id}`)}" Win64="yes">
          <RegistryValue Root="${root}" Key="${esc(key)}" Type="string" Value="[INSTALLDIR]${HOST_NAME}.json" KeyPath="yes"/>
        </Component>`;
    })
    .join('\n');
  const offerIds = [];
  const offers = EXTENSION_OFFERS(config)
    .map(({ browser, key, updateUrl }) => {
      const id = `offer_${browser}`;
      offerIds.push(id);
      // Chrome reads HKLM extension keys from the 32-bit view only (Wow6432Node on 64-bit Windows).
      return `        <Component Id="${id}" Guid="${guid(`${scope} ${id}`)}" Win64="${perUser ? 'yes' : 'no'}">
          <RegistryValue Root="${root}" Key="${esc(key)}" Name="update_url" Type="string" Value="${esc(updateUrl)}" KeyPath="yes"/>
        </Component>`;
    })
    .join('\n');

  // Per user: %LOCALAPPDATA%\Programs\anaf-token (where per-user apps go); per machine: Program Files.
  const [openRoot, closeRoot] = perUser
    ? [
        '<Directory Id="LocalAppDataFolder">\n        <Directory Id="ProgramsFolder" Name="Programs">\n          <Directory Id="INSTALLDIR" Name="anaf-token">',
        '          </Directory>\n        </Directory>\n      </Directory>',
      ]
    : ['<Directory Id="ProgramFiles64Folder">\n          <Directory Id="INSTALLDIR" Name="anaf-token">', '          </Directory>\n      </Directory>'];
  componentIds.push('installdir');
  const upgradeCode = perUser ? config.upgradeCodePerUser : config.upgradeCodePerMachine;

  return `<?xml version="1.0" encoding="utf-8"?>
<!-- Generated by scripts/package/msi.mjs (${scope}); built with wixl. -->
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="anaf-token" Language="1033" Version="${esc(version)}" Manufacturer="anaf-token" UpgradeCode="${upgradeCode}">
    <Package Id="*" InstallerVersion="500" Compressed="yes" InstallScope="${perUser ? 'perUser' : 'perMachine'}"
             Description="anaf-token ${esc(version)}: ANAF OAuth token for e-Factura and e-Transport" Comments="${perUser ? 'Per-user install, no administrator rights' : 'Per-machine install, for every user'}"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of anaf-token is already installed. / O versiune mai noua de anaf-token este deja instalata."/>
    <Media Id="1" Cabinet="anaf.cab" EmbedCab="yes"/>
    <Icon Id="anaf.ico" SourceFile="${esc(icon)}"/>
    <Property Id="ARPPRODUCTICON" Value="anaf.ico"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <!-- ALLUSERS: unset per user (a classic per-user package, no elevation); 1 per machine, set by wixl from InstallScope. -->
    <Directory Id="TARGETDIR" Name="SourceDir">
      ${openRoot}
            <Component Id="installdir" Guid="${guid(`${scope} installdir`)}" Win64="yes">
              <RemoveFolder Id="rf_installdir" On="uninstall"/>
              ${regKeyPath('installdir')}
            </Component>
${emit(tree, '            ', '')}
${closeRoot}
${registry}
${offers}
    </Directory>
    <Feature Id="Main" Title="anaf-token" Level="1">
${[...componentIds].map((id) => `      <ComponentRef Id="${id}"/>`).join('\n')}
    </Feature>
    <!-- Leave it out with: msiexec /i anaf-token.msi ADDLOCAL=Main -->
    <Feature Id="OfferExtension" Title="Offer the browser extension from the Chrome Web Store and Edge Add-ons" Level="1">
${offerIds.map((id) => `      <ComponentRef Id="${id}"/>`).join('\n')}
    </Feature>
  </Product>
</Wix>
`;
}

export function buildMsi({ scope, stage, version, config, icon, output, work }) {
  requireTool('/usr/bin/wixl', 'wixl');
  const source = path.join(work, `anaf-token-${scope}.wxs`);
  // wixl takes only paths relative to the folder it runs in.
  const rel = (p) => path.relative(process.cwd(), p);
  const text = wxs({ scope, stage: rel(stage), version, config, icon: rel(icon) });
  // wixl (0.101) crashes on non-ASCII text in the source.
  if (/[^\x00-\x7f]/.test(text)) throw new Error(`${source}: non-ASCII text, which wixl cannot build`);
  fs.writeFileSync(source, text);
  run('wixl', ['-a', 'x64', '-o', output, source]);
  return output;
}
