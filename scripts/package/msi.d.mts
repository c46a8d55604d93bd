import type { PackageConfig } from './config.mjs';
export const HOST_NAME: string;
export function EXTENSION_OFFERS(config: PackageConfig): { browser: string; key: string; updateUrl: string }[];
export function nativeMessagingKeys(): { browser: string; key: string }[];
export function wxs(opts: { scope: 'user' | 'machine'; stage: string; version: string; config: PackageConfig; icon: string }): string;
export function buildMsi(opts: {
  scope: 'user' | 'machine';
  stage: string;
  version: string;
  config: PackageConfig;
  icon: string;
  output: string;
  work: string;
}): string;
