// Build-time settings of the packages: which extension IDs the host accepts, and the
// installers' stable codes. Defaults in package.config.json; each can be overridden by an
// environment variable (CI secrets, a firm's own build) or a whole other file
// (ANAF_TOKEN_PACKAGE_CONFIG=path).
import fs from 'node:fs';

const ID = /^[a-p]{32}$/;

export function packageConfig(env = process.env) {
  const file = env.ANAF_TOKEN_PACKAGE_CONFIG ?? new URL('./package.config.json', import.meta.url).pathname;
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  const config = {
    chromeWebStoreId: env.ANAF_TOKEN_CHROME_WEB_STORE_ID || c.chromeWebStoreId,
    edgeAddonsId: env.ANAF_TOKEN_EDGE_ADDONS_ID || c.edgeAddonsId,
    upgradeCodePerUser: c.upgradeCodePerUser,
    upgradeCodePerMachine: c.upgradeCodePerMachine,
  };
  for (const k of ['chromeWebStoreId', 'edgeAddonsId']) {
    if (!ID.test(config[k])) throw new Error(`${k} ${JSON.stringify(config[k])} is not an extension ID (32 letters a-p)`);
  }
  return config;
}

/** The IDs the host manifests allow and the host itself accepts. */
export const allowedIds = (c) => [...new Set([c.chromeWebStoreId, c.edgeAddonsId])];
