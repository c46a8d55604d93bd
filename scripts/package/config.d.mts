export interface PackageConfig {
  chromeWebStoreId: string;
  edgeAddonsId: string;
  upgradeCodePerUser: string;
  upgradeCodePerMachine: string;
}
export function packageConfig(env?: NodeJS.ProcessEnv): PackageConfig;
export function allowedIds(c: PackageConfig): string[];
