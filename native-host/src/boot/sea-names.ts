/** Names shared by the single executable's entry (sea-main.ts), config/entry.ts and scripts/package/sea.mjs. */

/** The hidden subcommand that runs the PKCS#11 worker inside the single executable. */
export const WORKER_SUBCOMMAND = '__pkcs11-worker';
/** The blob's assets: the host bundle and the worker, each a CommonJS function expression. */
export const HOST_ASSET = 'host.cjs';
export const WORKER_ASSET = 'pkcs11-worker.cjs';
/** Build settings the single executable carries (scripts/package/config.mjs): `{ allowedExtensionIds: string[] }`. */
export const PACKAGE_CONFIG_ASSET = 'package-config.json';
/** The pure-JS packages carried in the blob: a JSON list of names; each is the asset `module:<name>`. */
export const MODULES_ASSET = 'modules.json';
