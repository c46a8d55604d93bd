/**
 * The CLI's entry (dist/anaf-token.cjs): runs the bundled host through a V8 code cache.
 *
 * The browser starts `native` and the ERP starts `token` many times a day, and compiling the
 * bundle was a third of their start-up. The cache is written at exit by the first run of each
 * command (a run compiles only what that command touches), so it holds every function that
 * command ran, into the user's cache folder.
 *
 * Not Node 22's own module.enableCompileCache(): it serializes a file's code right after
 * compiling it, before anything runs, so it keeps only the top level; the functions, compiled on
 * first call, would be compiled again in every process.
 *
 * The cache's scheme and its safety rules (a cache file is code: read only from a safe folder, only
 * an own regular file, never through a link, named with the bundle's content hash) are
 * code-cache.ts's, shared with the single executable. A folder or file that fails gets a
 * `code-cache.refused` warning in the host's log (boot/notes.ts).
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { compileCached } from './code-cache.js';
import { addBootNote } from './notes.js';
import { usePrivateUmask } from './umask.js';

// Whatever this process makes (caches, logs, the vault, manifests, units) is private unless
// given a wider mode explicitly; a umask of 000 in the user's profile changes nothing.
usePrivateUmask();

/** The bundle's file name, with its content hash; set by scripts/build-host.mjs. */
declare const BUNDLE_FILE: string;

const refused = (problem: string) => addBootNote({ event: 'code-cache.refused', fields: { problem } });

const bundle = path.join(__dirname, BUNDLE_FILE);
// ASCII only (the build checks), so latin1 reads it exactly, without decoding UTF-8.
const source = fs.readFileSync(bundle, 'latin1');
// The bundle's text is already `(function (exports, require, module, __filename, __dirname) {…})`.
// Caches of an older bundle (another content hash) are pruned when a new one is written.
const script = compileCached(source, bundle, BUNDLE_FILE, { onRefused: refused, prune: /^host-[A-Za-z0-9]+\.cjs\..+\.v8cache$/ });

const mod = new Module(bundle, module);
mod.filename = bundle;
const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
run.call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, __dirname);
