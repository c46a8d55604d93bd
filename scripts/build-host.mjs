// Builds the native host: one CommonJS bundle (few bytes to read, no module resolution in
// node_modules, and V8 can cache its compiled code: see native-host/src/boot/run-bundle.ts),
// the small entry that runs it, and the PKCS#11 worker. Native addons stay outside.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const dist = 'dist';
// Old bundles and chunks would otherwise pile up beside the new ones.
for (const name of fs.existsSync(dist) ? fs.readdirSync(dist) : []) {
  if (/^(host-|anaf-token\.|pkcs11-worker\.)/.test(name) || name === 'chunks') fs.rmSync(path.join(dist, name), { recursive: true, force: true });
}

/**
 * commander requires child_process (and with it net, dgram, streams) when loaded, for
 * subcommands run as separate executables, which we never use: ~5 ms of every start.
 * Require it when first used instead.
 */
const lazyChildProcessInCommander = {
  name: 'lazy-child-process-in-commander',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const code = fs.readFileSync(args.path, 'utf8');
      if (!code.includes(eager)) throw new Error(`${args.path}: commander changed; update lazyChildProcessInCommander in scripts/build-host.mjs`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: code.replace(eager, lazy), loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
};

const host = await build({
  ...common,
  entryPoints: { host: 'native-host/src/cli/main.ts' },
  // The content hash in the name keys the code cache (V8 itself checks only the length).
  entryNames: '[name]-[hash]',
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // @peculiar/x509 (with reflect-metadata) makes the `authorize --listen` certificate about once a
  // year: required from node_modules then, instead of doubling the bundle every command reads.
  external: ['pkcs11js', '@napi-rs/keyring', '@peculiar/x509', 'reflect-metadata'],
  define: { 'import.meta.url': '__anafBundleUrl' },
  plugins: [lazyChildProcessInCommander],
  // The bundle is its own CommonJS wrapper: run-bundle.ts compiles the file's text as it is,
  // instead of Module.wrap() copying 250 KB into a new string (young memory: a scavenge).
  banner: { js: '(function (exports, require, module, __filename, __dirname) {var __anafBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  footer: { js: '\n})' },
});
const hostFile = Object.keys(host.metafile.outputs).find((f) => f.endsWith('.cjs'));
const hostCode = fs.readFileSync(hostFile, 'utf8');
// Command groups are imported on demand; bundled, each must become a lazy init, not a real
// import() (which a vm.Script cannot run).
if (/\bimport\(/.test(hostCode)) throw new Error(`${hostFile} still contains import(): a dynamic import was not bundled`);
// run-bundle.ts reads the bundle as latin1 (a plain copy, no UTF-8 decoding); esbuild escapes non-ASCII.
if (/[^\x00-\x7f]/.test(hostCode)) throw new Error(`${hostFile} is not pure ASCII`);

await build({
  ...common,
  entryPoints: { 'anaf-token': 'native-host/src/boot/run-bundle.ts' },
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { BUNDLE_FILE: JSON.stringify(path.basename(hostFile)) },
  banner: { js: '#!/usr/bin/env node' },
});
fs.chmodSync(path.join(dist, 'anaf-token.cjs'), 0o755);

await build({
  ...common,
  entryPoints: { 'pkcs11-worker': 'native-host/src/pkcs11/worker-main.ts' },
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  external: ['pkcs11js'],
  // Bundled CommonJS packages call require(); give ESM one.
  banner: { js: "import { createRequire as __anafCreateRequire } from 'node:module'; const require = __anafCreateRequire(import.meta.url);" },
});
