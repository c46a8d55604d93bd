// Native addons the host loads at run time, shipped beside the single executable (an addon
// cannot be loaded from inside the blob): node_modules/<package>/ with only the package's
// entry and the one prebuilt binary for the target, from the node_modules `npm ci` installed
// (checked against package-lock.json): koffi (PKCS#11 and DPAPI through FFI), whose npm
// tarball carries a binary per platform, loaded by a static require of
// ./build/koffi/<platform>_<arch>/koffi.node; and pkcs11js, compiled here, for Linux only.
import fs from 'node:fs';
import path from 'node:path';

const NATIVES = {
  koffi: (triplet) => ['package.json', 'index.js', 'LICENSE.txt', `build/koffi/${triplet}/koffi.node`],
  // Built by `npm ci` (node-gyp) for this machine and the pinned Node: only the Linux build can carry it.
  pkcs11js: (triplet) => (triplet === 'linux_x64' ? ['package.json', 'index.js', 'LICENSE', 'build/Release/pkcs11.node'] : []),
};

/** Writes dir/node_modules/<package>/… for each native package the project depends on; returns what it wrote. */
export function writeNativePackages(dir, triplet, { nodeModules = 'node_modules', packageJson = 'package.json' } = {}) {
  const deps = JSON.parse(fs.readFileSync(packageJson, 'utf8')).dependencies ?? {};
  const written = [];
  for (const [name, files] of Object.entries(NATIVES)) {
    if (!deps[name]) continue;
    for (const f of files(triplet)) {
      const from = path.join(nodeModules, name, f);
      if (!fs.existsSync(from)) throw new Error(`${from} is missing: ${name} has no ${triplet} build here`);
      const to = path.join(dir, 'node_modules', name, f);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
      written.push(path.join('node_modules', name, f));
    }
  }
  return written;
}
