/**
 * Refreshing, single-flight across processes. ANAF rotates the refresh token on every use, so
 * two processes refreshing with the same one would kill the grant: a lease row in the vault lets
 * one process refresh while the others wait and then read what it stored.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, ERROR_CODES, type ErrorCode } from '../../../shared/src/errors.js';
import type { RefreshOutcome } from '../../../shared/src/protocol/results.js';
import { clientAuthOf, refreshTokens, revokeToken, type ClientOptions } from '../oauth/anaf-client.js';
import { certificateFromClaims } from '../oauth/token-claims.js';
import type { Logger } from '../log/logger.js';
import type { TokenRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { newLeaseOwner } from '../vault/lease-owner.js';
import { isDueAt } from './due.js';
import { tokenState } from './status.js';

export interface TokenDeps {
  store: Store;
  log: Logger;
  client?: ClientOptions;
  now?: () => number;
  /** Longer than one refresh request can take, so a live holder never loses its lease. */
  leaseTtlMs?: number;
  /** How long a process waits for another one's refresh before giving up. */
  waitTimeoutMs?: number;
  pollMs?: number;
}

const DEFAULTS = { leaseTtlMs: 45_000, waitTimeoutMs: 60_000, pollMs: 50 };
/** An access token this close to its end is not handed out. */
export const MIN_USEFUL_MS = 60_000;

const leaseName = (profile: string) => `refresh:${profile}`;

function storedError(text: string): AppError {
  const m = /^([A-Z_]+): ?(.*)$/s.exec(text);
  const code = m && (ERROR_CODES as readonly string[]).includes(m[1]!) ? (m[1] as ErrorCode) : 'ANAF_UNAVAILABLE';
  return new AppError(code, m ? m[2] || undefined : text);
}

function deadError(rec: TokenRecord): AppError {
  return new AppError('TOKEN_DEAD', rec.deadReason);
}

/**
 * Runs `fn` holding the profile's lease. While another process holds it, waits; `settled`
 * is asked after each wait whether that process already did the work, and its answer ends the wait.
 */
async function withLease<T>(
  deps: TokenDeps,
  profile: string,
  fn: () => Promise<T>,
  settled: () => Promise<T | undefined>,
): Promise<T> {
  const { leaseTtlMs, waitTimeoutMs, pollMs } = { ...DEFAULTS, ...deps };
  const owner = newLeaseOwner();
  const deadline = Date.now() + waitTimeoutMs;
  for (;;) {
    if (await deps.store.tryAcquireLease(leaseName(profile), owner, leaseTtlMs)) {
      try {
        return await fn();
      } finally {
        await deps.store.releaseLease(leaseName(profile), owner);
      }
    }
    await sleep(pollMs);
    const done = await settled();
    if (done !== undefined) return done;
    if (Date.now() > deadline) throw new AppError('REFRESH_BUSY');
  }
}

export interface RefreshResult {
  outcome: 'refreshed' | 'refreshed-elsewhere' | 'not-due';
  record: TokenRecord;
}

export async function isDue(deps: TokenDeps, profile: string, rec: TokenRecord): Promise<boolean> {
  return isDueAt(await deps.store.getProfile(profile), rec, (deps.now ?? Date.now)());
}

/**
 * ANAF refused this grant's last refresh for a reason that is neither a dead grant, the client
 * credentials nor a rate limit: asking again gets the same answer, so only a forced refresh
 * (the user's own) asks. A stored error belongs to the current generation: new tokens clear it.
 */
const refusedBefore = (rec: TokenRecord): boolean => rec.lastError?.startsWith('AUTHORIZATION_FAILED:') === true;

export async function refreshProfile(deps: TokenDeps, name: string, opts: { force?: boolean } = {}): Promise<RefreshResult> {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const profile = await store.getProfile(name);
  const start = await store.findToken(name);
  if (!start) throw new AppError('NO_TOKEN', name);
  if (start.deadReason !== undefined) throw deadError(start);
  if (!opts.force && !(await isDue(deps, name, start))) return { outcome: 'not-due', record: start };
  if (!opts.force && refusedBefore(start)) throw storedError(start.lastError!);
  const waitStartedAt = now();

  const elsewhere = async (): Promise<RefreshResult | undefined> => {
    const cur = await store.findToken(name);
    if (!cur) throw new AppError('NO_TOKEN', name);
    if (cur.generation !== start.generation) return { outcome: 'refreshed-elsewhere', record: cur };
    if (cur.deadReason !== undefined) throw deadError(cur);
    // The holder failed while we waited: report its failure rather than hammer ANAF again.
    if (cur.lastFailureAt !== undefined && cur.lastFailureAt >= waitStartedAt && !(await store.leaseActive(leaseName(name)))) {
      throw storedError(cur.lastError ?? '');
    }
    return undefined;
  };

  return withLease(
    deps,
    name,
    async () => {
      const done = await elsewhere();
      if (done) return done;
      const cur = (await store.findToken(name))!;
      // Both open only for the server, client ID and callback URL they were saved with: the
      // profile read here is the one they are sent to (else PROFILE_ALTERED, and nothing is sent).
      const tokens = (await store.readTokens(profile))!;
      if (!tokens.refreshToken) {
        await store.markDead(name, 'no refresh token');
        throw new AppError('TOKEN_DEAD', 'no refresh token');
      }
      if (cur.refreshExpiresAt !== undefined && cur.refreshExpiresAt <= now()) {
        await store.markDead(name, 'the refresh token has expired');
        throw new AppError('TOKEN_DEAD', 'the refresh token has expired');
      }
      const secret = await store.clientSecret(profile);
      try {
        const set = await refreshTokens(profile, secret, tokens.refreshToken, cur, { now, ...deps.client, clientAuth: await clientAuthOf(store, name) });
        const record = await store.saveTokens(profile, set, { kind: 'refresh', certificate: certificateFromClaims(set.accessToken) });
        log.log('info', 'refresh.done', { profile: name, generation: record.generation });
        return { outcome: 'refreshed' as const, record };
      } catch (e) {
        const err = e instanceof AppError ? e : new AppError('INTERNAL', (e as Error).name);
        if (err.code === 'TOKEN_DEAD') await store.markDead(name, `${err.detail ?? 'invalid_grant'}`);
        else await store.recordFailure(name, `${err.code}: ${err.detail ?? ''}`);
        log.log('warn', 'refresh.failed', { profile: name, code: err.code, detail: err.detail });
        throw err;
      }
    },
    elsewhere,
  );
}

export interface TokenGrant {
  profile: string;
  accessToken: string;
  expiresAt: number;
  /** Which pair it is (one per authorization or refresh): what the audit records. */
  generation: number;
}

/** How a caller refreshes: the token service adds single-flight and a retry backoff. */
export interface GrantPolicy {
  /** Refreshes a due token (default: refreshProfile). */
  refresh?: (name: string) => Promise<unknown>;
  /** A failure that stands for a refresh attempt not made now (a retry is not due yet). */
  heldBack?: (name: string) => AppError | undefined;
  /** An access token closer than this to its end is not handed out. */
  minUsefulMs?: number;
}

/** Errors a retry cannot fix: no backoff, and no stale token to fall back to. */
const FINAL: ReadonlySet<ErrorCode> = new Set(['TOKEN_DEAD', 'NO_TOKEN', 'PROFILE_NOT_FOUND', 'PROFILE_ALTERED']);
export const isFinal = (code: ErrorCode): boolean => FINAL.has(code);

/** The profile's token record, or the error that says why there is no usable one. */
export async function liveRecord(deps: TokenDeps, name: string, now: number): Promise<TokenRecord> {
  const profile = await deps.store.getProfile(name);
  const rec = await deps.store.findToken(name);
  if (!rec) throw new AppError('NO_TOKEN', name);
  if (rec.deadReason !== undefined) throw deadError(rec);
  if (tokenState(profile, rec, now) === 'dead') throw new AppError('TOKEN_DEAD', 'the refresh token has expired');
  return rec;
}

/** The stored token, read so that its expiry and its value belong to the same generation. */
export async function readGrant(deps: TokenDeps, name: string, failure: AppError | undefined, minUsefulMs: number): Promise<TokenGrant> {
  const now = deps.now ?? Date.now;
  for (let attempt = 0; attempt < 3; attempt++) {
    const rec = await liveRecord(deps, name, now());
    if (rec.accessExpiresAt - now() < minUsefulMs) {
      throw new AppError('TOKEN_EXPIRED', failure ? `${failure.code}${failure.detail ? `: ${failure.detail}` : ''}` : undefined);
    }
    const t = await deps.store.readTokens(name);
    if (!t) throw new AppError('NO_TOKEN', name);
    if (t.generation === rec.generation) return { profile: name, accessToken: t.accessToken, expiresAt: rec.accessExpiresAt, generation: rec.generation };
  }
  // Another process kept rotating the token between the two reads.
  throw new AppError('REFRESH_BUSY');
}

/**
 * The one rule for handing out an access token, for the CLI's `token` and the ERP service:
 * refreshed first when due; when that fails for a reason a retry may fix (ANAF down), the stored
 * one while it still lasts a minute. `due` says whether a refresh was called for.
 */
export async function validAccessToken(deps: TokenDeps, name: string, policy: GrantPolicy = {}): Promise<TokenGrant & { due: boolean }> {
  const now = deps.now ?? Date.now;
  const minUsefulMs = policy.minUsefulMs ?? MIN_USEFUL_MS;
  if (!(await isDue(deps, name, await liveRecord(deps, name, now())))) return { ...(await readGrant(deps, name, undefined, minUsefulMs)), due: false };
  let failure = policy.heldBack?.(name);
  if (!failure) {
    try {
      await (policy.refresh ?? ((n: string) => refreshProfile(deps, n)))(name);
    } catch (e) {
      if (!(e instanceof AppError) || isFinal(e.code)) throw e;
      failure = e;
      deps.log.log('warn', 'token.served-stale', { profile: name, code: e.code });
    }
  }
  return { ...(await readGrant(deps, name, failure, minUsefulMs)), due: true };
}

/** What the daily alarm and the ERP service run: refresh every token that is due. */
export async function refreshDue(deps: TokenDeps): Promise<RefreshOutcome[]> {
  const outcomes: RefreshOutcome[] = [];
  for (const name of await deps.store.dueForRefresh((deps.now ?? Date.now)())) {
    try {
      const r = await refreshProfile(deps, name);
      outcomes.push({ profile: name, outcome: r.outcome === 'not-due' ? 'not-due' : 'refreshed' });
    } catch (e) {
      const err = e instanceof AppError ? e : new AppError('INTERNAL');
      outcomes.push({ profile: name, outcome: err.code === 'TOKEN_DEAD' ? 'dead' : 'failed', error: err.toPayload() });
    }
  }
  return outcomes;
}

/** What a revocation did: the tokens are always forgotten here; ANAF may or may not have confirmed. */
export interface RevokeOutcome {
  anafConfirmed: boolean;
  /** ANAF's answer when it did not confirm (safe to show). */
  anafDetail?: string;
}

/**
 * Ends the grant as far as this machine can: one try at ANAF's revoke endpoint (the refresh
 * token first: it ends the grant; the access token only after ANAF confirmed that), then the
 * tokens are forgotten whatever ANAF answered. ANAF has been seen answering with a redirect to
 * its login wall, so the real remedy is in its portal (see the REVOKE_UNCONFIRMED advice).
 * Holds the lease so that no refresh stores a fresh pair after the revocation.
 */
export async function revokeProfile(deps: TokenDeps, name: string): Promise<RevokeOutcome> {
  const { store, log } = deps;
  const profile = await store.getProfile(name);
  return withLease(
    deps,
    name,
    async () => {
      const tokens = await store.readTokens(profile);
      if (!tokens) throw new AppError('NO_TOKEN', name);
      const rec = (await store.findToken(name))!;
      const secret = await store.clientSecret(profile);
      const opts = { ...deps.client, clientAuth: await clientAuthOf(store, name) };
      let answer = tokens.refreshToken && rec.deadReason === undefined ? await revokeToken(profile, secret, tokens.refreshToken, 'refresh_token', opts) : undefined;
      if (answer === undefined || answer.confirmed) answer = await revokeToken(profile, secret, tokens.accessToken, 'access_token', opts);
      await store.deleteTokens(name);
      log.log(answer.confirmed ? 'info' : 'warn', 'revoke.done', { profile: name, anafConfirmed: answer.confirmed, detail: answer.detail });
      return answer.confirmed ? { anafConfirmed: true } : { anafConfirmed: false, ...(answer.detail ? { anafDetail: answer.detail } : {}) };
    },
    async () => undefined,
  );
}
