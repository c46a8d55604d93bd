/**
 * Moving everything from the store in use to another (the local vault into a team store, or
 * back). A refresh token must never be usable in two stores at once: ANAF rotates it on use, so
 * whichever used it second would kill the grant. Each profile's tokens therefore move under the
 * source's lease (no refresh there meanwhile; in a team store, on no machine) and are deleted
 * from the source as soon as the destination committed them. A run cut short is run again: a
 * profile whose tokens already arrived is recognised and only removed from the source.
 *
 * The gateway's outbox stays with its store (gateway.sqlite, or the team database's tables): a
 * move is refused while an upload is still on its way there, so none is left behind unfinished.
 * That is a look before the move, not a lock: a serve still running could queue one meanwhile,
 * which is why the refusal says to stop serve (as the move needs anyway: it keeps its store).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { App } from '../app.js';
import { newLeaseOwner } from '../vault/lease-owner.js';
import { leaseName } from '../tokens/lease.js';
import { GATEWAY_FILE } from '../gateway/sqlite-store.js';
import { ACTIVE_STATES } from '../gateway/types.js';
import { openStore, type StoreLocation } from './open-store.js';
import type { Store } from './store.js';

export interface MigrationReport {
  profiles: number;
  tokens: number;
  clients: number;
  audit: number;
  /** Client keys an older version made (hash only): nothing to move; add them again. */
  skippedOldClients: string[];
}

const LEASE_MS = 60_000;
const AUDIT_ALL = 1_000_000;

export async function migrateStore(app: App, to: StoreLocation): Promise<MigrationReport> {
  const from = app.store;
  if (to.engine === app.location().engine && (to.engine === 'sqlite' || (app.location() as { url: string }).url === to.url)) {
    throw new AppError('BAD_REQUEST', 'the destination is the store in use');
  }
  const dest = await openStore(to, { paths: app.paths, now: app.now });
  try {
    await from.checkKey();
    await dest.checkKey();
    await refuseWhileUploading(app);
    // Two URLs may name one database (another spelling, host alias or user): moving a store onto
    // itself would delete everything. The team's id says whether it is the same team store.
    if (from.engine === 'postgres' && dest.engine === 'postgres' && teamOf(from) === teamOf(dest)) {
      throw new AppError('BAD_REQUEST', 'the destination holds the same team as the store in use');
    }
    return await move(app, from, dest);
  } finally {
    await dest.close();
  }
}

async function refuseWhileUploading(app: App): Promise<void> {
  const where = app.location();
  // A machine that never used the gateway has no gateway.sqlite: nothing to look at, nothing made.
  if (where.engine === 'sqlite' && !fs.existsSync(path.join(app.paths.dataDir, GATEWAY_FILE))) return;
  const { openGatewayStore } = await import('../gateway/open.js');
  const gateway = await openGatewayStore(app);
  try {
    const open = await gateway.list({ states: [...ACTIVE_STATES], limit: 1_000 });
    if (open.length > 0) throw new AppError('GATEWAY_JOBS_OPEN', `${open.length === 1_000 ? 'over 999' : open.length} unfinished`);
  } finally {
    await gateway.close();
  }
}

async function move(app: App, from: Store, dest: Store): Promise<MigrationReport> {
  const report: MigrationReport = { profiles: 0, tokens: 0, clients: 0, audit: 0, skippedOldClients: [] };
  const profiles = await from.listProfiles();
  // Refused before anything moves: a name the destination already uses for another application.
  for (const p of profiles) {
    const there = await dest.findProfile(p.name);
    if (there && (there.env !== p.env || there.clientId !== p.clientId || there.redirectUri !== p.redirectUri)) {
      throw new AppError('PROFILE_EXISTS', `${p.name} (in the destination, for another server, client ID or callback URL)`);
    }
    const theirs = there && (await dest.readTokens(p));
    const ours = await from.readTokens(p);
    if (theirs && ours && (theirs.refreshToken !== ours.refreshToken || theirs.accessToken !== ours.accessToken)) {
      throw new AppError(
        'PROFILE_EXISTS',
        `${p.name}: the destination already holds other tokens for it (another grant, or one refreshed there since a run was cut short); nothing was moved`,
      );
    }
  }
  for (const p of profiles) {
    const secret = await from.clientSecret(p);
    await dest.saveProfile({ ...p, clientSecret: secret }, (await dest.findProfile(p.name)) ? 'upsert' : 'create');
    const auth = await from.clientAuthMethod(p.name);
    if (auth) await dest.setClientAuthMethod(p.name, auth);
    report.profiles++;
    if (await moveTokens(from, dest, p.name)) report.tokens++;
  }
  for (const c of await from.listApiClients()) {
    const k = await from.apiClientKey(c.name);
    if (!k || k.state !== 'ok') {
      report.skippedOldClients.push(c.name);
      continue;
    }
    if (!(await dest.apiClientKey(c.name))) {
      await dest.addApiClient(c.name, k.key!.toString('utf8'), { personalId: k.personalId, ...(k.profiles ? { profiles: k.profiles } : {}) });
    }
    await from.removeApiClient(c.name);
    report.clients++;
  }
  for (const e of (await from.audit({ limit: AUDIT_ALL })).reverse()) {
    await dest.recordAudit(e);
    report.audit++;
  }
  for (const p of profiles) await from.removeProfile(p.name);
  app.log.log('info', 'store.migrate-done', { profiles: report.profiles, tokens: report.tokens, clients: report.clients });
  return report;
}

/** The team a store holds (team stores only). */
function teamOf(s: Store): string | undefined {
  return (s as Store & { registration?: { teamId: string } }).registration?.teamId;
}

/** One profile's tokens, under the source's lease: copied, then deleted from the source. */
async function moveTokens(from: Store, dest: Store, name: string): Promise<boolean> {
  const owner = newLeaseOwner();
  const deadline = Date.now() + LEASE_MS;
  while (!(await from.tryAcquireLease(leaseName(name), owner, LEASE_MS))) {
    if (Date.now() > deadline) throw new AppError('REFRESH_BUSY', `${name}: a refresh in the source did not end`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    const record = await from.findToken(name);
    const tokens = await from.readTokens(name);
    if (!record || !tokens) return false;
    const already = await dest.readTokens(name);
    // Tokens already there and not these (another grant, or one a run cut short moved and the
    // destination refreshed since): they stay; this profile's grant is not moved over them.
    if (already !== undefined && (already.refreshToken !== tokens.refreshToken || already.accessToken !== tokens.accessToken)) {
      throw new AppError('PROFILE_EXISTS', `${name}: the destination already holds other tokens for it; nothing of this profile was moved`);
    }
    if (already === undefined) {
      await dest.saveTokens(
        name,
        {
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          accessExpiresAt: record.accessExpiresAt,
          refreshExpiresAt: record.refreshExpiresAt,
        },
        { kind: 'import', record },
      );
    }
    await from.deleteTokens(name);
    return true;
  } finally {
    await from.releaseLease(leaseName(name), owner);
  }
}
