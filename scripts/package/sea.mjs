// The single executable's contents: a SEA blob made by the Linux Node 22 (the same version as
// the target's node binary; the blob format is platform-independent without a code cache or a
// snapshot), holding a small entry (native-host/src/boot/sea-main.ts) and two assets: the host
// bundle dist/ already has (scripts/build-host.mjs, the code every test runs) and the PKCS#11
// worker built as CommonJS, and the pure-JS packages the host bundle leaves external, each
// bundled into one file. Native addons (none yet on Windows) would be files beside the executable.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { run } from './run.mjs';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Pure-JavaScript packages the host bundle requires at run time (build-host.mjs's `external`). */
export const JS_EXTERNALS = ['@peculiar/x509', 'reflect-metadata'];

const wrapper = {
  banner: { js: '(function (exports, require, module, __filename, __dirname) {var __anafBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  footer: { js: '\n})' },
};

function assertAscii(file) {
  if (/[^\x00-\x7f]/.test(fs.readFileSync(file, 'latin1'))) throw new Error(`${file} is not pure ASCII (sea-main.ts reads assets as latin1)`);
}

/** Builds the SEA entry and assets into `work`, and the blob; returns the blob's path. */
export async function buildSeaBlob({ work, linuxNode, hostBundle, allowedExtensionIds }) {
  fs.mkdirSync(work, { recursive: true });
  const common = { bundle: true, platform: 'node', target: 'node22', minify: true, keepNames: true, logLevel: 'warning', legalComments: 'none' };
  await build({ ...common, entryPoints: ['native-host/src/boot/sea-main.ts'], outfile: path.join(work, 'sea-main.cjs'), format: 'cjs' });
  await build({
    ...common,
    entryPoints: ['native-host/src/pkcs11/worker-main.ts'],
    outfile: path.join(work, 'pkcs11-worker.cjs'),
    format: 'cjs',
    external: ['pkcs11js', 'koffi'],
    define: { 'import.meta.url': '__anafBundleUrl' },
    ...wrapper,
  });
  assertAscii(path.join(work, 'pkcs11-worker.cjs'));
  fs.copyFileSync(hostBundle, path.join(work, 'host.cjs'));
  const modules = await buildJsModules(path.join(work, 'modules'));
  fs.writeFileSync(path.join(work, 'modules.json'), JSON.stringify(JS_EXTERNALS));
  // Read by config/entry.ts's packagedExtensionIds().
  fs.writeFileSync(path.join(work, 'package-config.json'), JSON.stringify({ allowedExtensionIds, hostBundle: path.basename(hostBundle) }));
  const config = {
    main: path.join(work, 'sea-main.cjs'),
    output: path.join(work, 'sea.blob'),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // A code cache is only valid for the V8 build and flags that made it: the blob is made on Linux for all.
    useCodeCache: false,
    // Names shared with native-host/src/boot/sea-names.ts.
    assets: {
      'host.cjs': path.join(work, 'host.cjs'),
      'pkcs11-worker.cjs': path.join(work, 'pkcs11-worker.cjs'),
      'package-config.json': path.join(work, 'package-config.json'),
      'modules.json': path.join(work, 'modules.json'),
      ...modules,
    },
  };
  fs.writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(config, null, 2));
  run(linuxNode, ['--experimental-sea-config', path.join(work, 'sea-config.json')]);
  return config.output;
}

/**
 * Each pure-JS external bundled into one CommonJS function expression, carried in the blob as
 * the asset `module:<name>` (boot/sea-main.ts's require serves them): the executable needs no
 * files beside it for them. Returns the assets to add.
 */
async function buildJsModules(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const assets = {};
  for (const name of JS_EXTERNALS) {
    const file = path.join(dir, `${name.replace(/[/@]/g, '_')}.cjs`);
    await build({
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      keepNames: true,
      legalComments: 'none',
      logLevel: 'error',
      outfile: file,
      define: { 'import.meta.url': '__anafBundleUrl' },
      ...wrapper,
    });
    assertAscii(file);
    assets[`module:${name}`] = file;
  }
  return assets;
}

/** Injects the blob into a copy of a node binary (unsigned already, for Windows and macOS). */
export function inject(nodeBinary, blob, output, { macho = false } = {}) {
  fs.copyFileSync(nodeBinary, output);
  fs.chmodSync(output, 0o755);
  const args = [output, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, '--overwrite'];
  if (macho) args.push('--macho-segment-name', 'NODE_SEA');
  run(path.resolve('node_modules/.bin/postject'), args);
}
