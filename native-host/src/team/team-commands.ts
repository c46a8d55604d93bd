/**
 * What `anaf-token team init|invite|join|status` do, as functions with typed results and no
 * output of their own: the CLI prints, the team store (team-store.ts) keeps the rows. The store
 * records one TeamRegistration (team id and key-check value) when the team is made; every other
 * command is given it back, so that this machine's key is proven against the store before it is
 * handed on or kept.
 */
import os from 'node:os';
import { AppError } from '#shared/errors.js';
import type { Paths } from '../config/paths.js';
import type { KeyStoreKind } from '../vault/key-store.js';
import { acceptInvite, DEFAULT_INVITE_TTL_MS, makeInvite, normalizeInviteCode, parseInvite } from './invite.js';
import type { InviteStore } from './invite-store.js';
import { checkTeamKey, keepTeamKey, loadTeamKey, newTeamKey, readTeamKey, registrationFor, type TeamRegistration } from './team-key.js';

export interface TeamContext {
  /** The data folder: team.json and, for the file kinds, team.key. */
  paths: Pick<Paths, 'dataDir'>;
  /** Chooses a new key's store (ANAF_TOKEN_KEYSTORE, DBUS_SESSION_BUS_ADDRESS); default process.env. */
  keyStoreEnv?: NodeJS.ProcessEnv | undefined;
  platform?: NodeJS.Platform | undefined;
}

const place = (ctx: TeamContext) => ({ paths: ctx.paths, env: ctx.keyStoreEnv, platform: ctx.platform });

/** Host and OS user, as an invite names its maker. */
export function machineLabel(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return `${user}@${os.hostname()}`;
}

// ---- team init

export interface InitTeamResult {
  /** For the team store to record (once): its team id and key-check value. */
  registration: TeamRegistration;
  teamId: string;
  fingerprint: string;
  keyStore: KeyStoreKind;
  /** The team whose key this machine gave up (only with force). */
  replacedTeamId: string | undefined;
}

/**
 * A new team key, kept in this machine's key store. TEAM_KEY_EXISTS when the machine already
 * holds one, unless `force` (which makes the old team's secrets unreadable here). The caller
 * records `registration` in a store that has no team yet.
 */
export function initTeam(opts: TeamContext & { force?: boolean }): InitTeamResult {
  const now = readTeamKey(place(opts));
  if (now.state === 'held' && !opts.force) throw new AppError('TEAM_KEY_EXISTS', `team ${now.teamId}`);
  const kept = keepTeamKey(place(opts), newTeamKey(), { replace: opts.force === true });
  return {
    registration: registrationFor(kept.held.key),
    teamId: kept.held.teamId,
    fingerprint: kept.held.fingerprint,
    keyStore: kept.held.keyStore,
    replacedTeamId: kept.replaced,
  };
}

/**
 * The registration of the key this machine holds (TEAM_KEY_MISSING otherwise): for a store
 * that should have recorded the team when `initTeam` ran but did not (it failed or was unreachable).
 */
export function heldRegistration(opts: TeamContext): TeamRegistration {
  return registrationFor(loadTeamKey(place(opts)).key);
}

// ---- team invite

export interface CreateInviteResult {
  /** Send in writing. */
  text: string;
  /** Say by phone, never in the same message as the text. */
  code: string;
  inviteId: string;
  teamId: string;
  expiresAt: number;
  createdBy: string;
}

/**
 * A one-time invite to this machine's team, put into the store. TEAM_KEY_MISSING without a key,
 * TEAM_KEY_WRONG when the key does not open the store (an invite would hand on a useless key).
 */
export async function createInvite(
  opts: TeamContext & { invites: InviteStore; team: TeamRegistration; ttlMs?: number; createdBy?: string; now?: number },
): Promise<CreateInviteResult> {
  const held = loadTeamKey(place(opts));
  checkTeamKey(held.key, opts.team);
  const createdBy = opts.createdBy ?? machineLabel();
  const made = await makeInvite(held.key, held.teamId, createdBy, opts.ttlMs ?? DEFAULT_INVITE_TTL_MS, opts.now ?? Date.now());
  await opts.invites.putInvite(made.record);
  return { text: made.text, code: made.code, inviteId: made.inviteId, teamId: held.teamId, expiresAt: made.expiresAt, createdBy };
}

// ---- team join

export interface JoinTeamResult {
  /** 'already-member': this machine held the team's key already; the invite was left unspent (it expires on its own). */
  status: 'joined' | 'replaced' | 'already-member';
  teamId: string;
  fingerprint: string;
  keyStore: KeyStoreKind;
  /** Who made the invite; undefined when it was not taken. */
  createdBy: string | undefined;
  replacedTeamId: string | undefined;
}

/**
 * Joins the store's team with an invite and its code. Everything that can be refused without
 * spending the invite is checked first: the text (INVITE_INVALID, also when it was made for
 * another team than `team`), the code's form (INVITE_CODE_MALFORMED), this machine's key
 * (TEAM_KEY_EXISTS for another team's key unless `force`) and its key store. Then the invite is
 * taken (INVITE_USED_OR_EXPIRED, INVITE_CODE_WRONG), the key proven against the store's check
 * value (TEAM_KEY_WRONG), and kept.
 */
export async function joinTeam(
  opts: TeamContext & { inviteText: string; code: string; invites: InviteStore; team: TeamRegistration; force?: boolean; now?: number },
): Promise<JoinTeamResult> {
  const invite = parseInvite(opts.inviteText);
  normalizeInviteCode(opts.code);
  if (invite.teamId !== opts.team.teamId)
    throw new AppError('INVITE_INVALID', `it was made for team ${invite.teamId}; the store in use belongs to team ${opts.team.teamId}`);
  const now = readTeamKey(place(opts));
  if (now.state === 'held') {
    if (now.teamId === invite.teamId) {
      checkTeamKey(now.key, opts.team);
      return {
        status: 'already-member',
        teamId: now.teamId,
        fingerprint: now.fingerprint,
        keyStore: now.keyStore,
        createdBy: undefined,
        replacedTeamId: undefined,
      };
    }
    if (!opts.force) throw new AppError('TEAM_KEY_EXISTS', `team ${now.teamId}`);
  }
  const accepted = await acceptInvite(opts.inviteText, opts.code, opts.invites, opts.now ?? Date.now());
  checkTeamKey(accepted.teamKey, opts.team);
  const kept = keepTeamKey(place(opts), accepted.teamKey, { replace: opts.force === true });
  return {
    status: kept.replaced === undefined ? 'joined' : 'replaced',
    teamId: kept.held.teamId,
    fingerprint: kept.held.fingerprint,
    keyStore: kept.held.keyStore,
    createdBy: accepted.createdBy,
    replacedTeamId: kept.replaced,
  };
}

// ---- team status

export type MachineTeamKey =
  | { state: 'none' }
  | { state: 'missing'; keyStore: KeyStoreKind; detail: string }
  | { state: 'held'; teamId: string; fingerprint: string; keyStore: KeyStoreKind };

export interface TeamStatus {
  machine: MachineTeamKey;
  /** When the caller gave the store's registration: its team, and whether this machine's key opens it. */
  store: { teamId: string; opens: boolean; problem: string | undefined } | undefined;
}

/** What this machine holds (never the key) and, given the store's registration, whether it opens the store. */
export function teamStatus(opts: TeamContext & { team?: TeamRegistration | undefined }): TeamStatus {
  const s = readTeamKey(place(opts));
  const machine: MachineTeamKey = s.state === 'held' ? { state: 'held', teamId: s.teamId, fingerprint: s.fingerprint, keyStore: s.keyStore } : s;
  if (!opts.team) return { machine, store: undefined };
  if (s.state !== 'held') return { machine, store: { teamId: opts.team.teamId, opens: false, problem: 'this computer holds no team key' } };
  try {
    checkTeamKey(s.key, opts.team);
    return { machine, store: { teamId: opts.team.teamId, opens: true, problem: undefined } };
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    return { machine, store: { teamId: opts.team.teamId, opens: false, problem: e.detail } };
  }
}
