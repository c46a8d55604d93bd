/**
 * Host settings: which extensions may call the native host, the PKCS#11 drivers, and where the
 * store is (the team store's URL may carry its database password: the file is 0600 in a folder
 * only its user can change).
 *
 * Checked field by field here, not with a zod schema: the browser's `native` and the ERP's
 * `token` read this file at every start, and building the schema cost more than the rest of
 * reading it (`token` then loads no zod at all).
 */
import fs from 'node:fs';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { packagedExtensionIds } from './entry.js';
import { ensurePrivateDir, ensureSafeDir, type Paths } from './paths.js';
import { writeFileAtomic } from './safe-paths.js';

export const EXTENSION_ID_RE = /^[a-p]{32}$/;
export const EXTENSION_ID_RULE = 'an extension ID is 32 letters a-p';

/** Without a config file: this project's ID, and a packaged build's store IDs (config/entry.ts). */
export const defaultExtensionIds = (): string[] => [...new Set([EXTENSION_ID, ...packagedExtensionIds()])];

export interface HostConfig {
  allowedExtensionIds: string[];
  /** PKCS#11 drivers the user named, scanned before the known ones. */
  pkcs11Modules: string[];
  /** The team store's PostgreSQL URL (`store use`); absent: the local vault. */
  store?: string | undefined;
}

const strings = (v: unknown, ok: (s: string) => boolean): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && ok(s));

/** The settings in `raw` (a missing field takes its default, other fields are dropped), or what is wrong with them. */
export function parseConfig(raw: unknown): { ok: true; config: HostConfig } | { ok: false; issue: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, issue: 'not a JSON object' };
  const { allowedExtensionIds: ids = defaultExtensionIds(), pkcs11Modules: modules = [], store } = raw as Record<string, unknown>;
  if (!strings(ids, (s) => EXTENSION_ID_RE.test(s))) return { ok: false, issue: `allowedExtensionIds: ${EXTENSION_ID_RULE}` };
  if (!strings(modules, (s) => s.length >= 1 && s.length <= 1024)) return { ok: false, issue: 'pkcs11Modules: a list of file paths' };
  if (store !== undefined && !(typeof store === 'string' && /^postgres(ql)?:\/\//.test(store) && store.length <= 2048)) {
    return { ok: false, issue: 'store: a postgres:// URL' };
  }
  return { ok: true, config: { allowedExtensionIds: ids, pkcs11Modules: modules, ...(store === undefined ? {} : { store }) } };
}

/** config.json names the drivers the native host may load: read only from a data folder nobody else can change. */
export function readConfig(paths: Paths): HostConfig {
  ensureSafeDir(paths.dataDir, { create: false });
  let raw: unknown = {};
  try {
    raw = JSON.parse(fs.readFileSync(paths.configFile, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${paths.configFile} is not valid JSON`);
  }
  const parsed = parseConfig(raw);
  if (!parsed.ok) throw new Error(`${paths.configFile}: ${parsed.issue}`);
  return parsed.config;
}

export function writeConfig(paths: Paths, config: HostConfig): void {
  ensurePrivateDir(paths.dataDir);
  writeFileAtomic(paths.configFile, JSON.stringify(config, null, 2) + '\n', 0o600);
}
