/** Status of every profile in one read of the vault. */
import type { TokenStatus } from '../../../shared/src/schemas/token-status.js';
import type { App } from '../app.js';
import { tokenStatus } from './status.js';

export function allStatuses(app: App): TokenStatus[] {
  const tokens = app.vault.allTokens();
  const now = app.now();
  return app.vault.listProfiles().map((p) => tokenStatus(p, tokens.get(p.name), now));
}

export function statusOf(app: App, name: string): TokenStatus {
  const profile = app.vault.getProfile(name);
  return tokenStatus(profile, app.vault.findToken(name), app.now());
}
