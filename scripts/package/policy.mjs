// For firms that install the extension for everyone: a .reg file of the policies that make
// Chrome and Edge force-install it from their stores (ExtensionInstallForcelist), to deploy
// by Group Policy, Intune or `reg import`. Its native host comes from the per-machine MSI.
import { EXTENSION_OFFERS } from './msi.mjs';

export function forceInstallReg(config) {
  const [chrome, edge] = EXTENSION_OFFERS(config);
  const lines = [
    'Windows Registry Editor Version 5.00',
    '',
    '; anaf-token: install the extension for every user of this machine, from the Chrome Web Store',
    '; and from Edge Add-ons. Import as administrator (reg import), or set the same policy in',
    '; Group Policy / Intune: "Configure the list of force-installed apps and extensions".',
    '; The value name ("1") is the entry\'s position in the list: use a free one if the firm has others.',
    '',
    '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]',
    `"1"="${config.chromeWebStoreId};${chrome.updateUrl}"`,
    '',
    '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist]',
    `"1"="${config.edgeAddonsId};${edge.updateUrl}"`,
    '',
  ];
  // regedit reads .reg files as UTF-16 LE with a BOM (ASCII works too, but this is what it writes).
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines.join('\r\n'), 'utf16le')]);
}
