// Builds the native host as a bundle (fast start: few files to load and compile, no module
// resolution in node_modules) plus its PKCS#11 worker. Native addons stay outside.
import { build } from 'esbuild';

await build({
  entryPoints: { 'anaf-token': 'native-host/src/cli/main.ts', 'pkcs11-worker': 'native-host/src/pkcs11/worker-main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  // Command groups are imported on demand: each becomes a chunk loaded only when its command runs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // chrome-native-messaging uses the deprecated Buffer(): loaded from node_modules, Node keeps quiet about it.
  external: ['better-sqlite3', 'pkcs11js', '@napi-rs/keyring', 'chrome-native-messaging'],
  // Bundled CommonJS packages call require(); give ESM one.
  banner: { js: "import { createRequire as __anafCreateRequire } from 'node:module'; const require = __anafCreateRequire(import.meta.url);" },
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
