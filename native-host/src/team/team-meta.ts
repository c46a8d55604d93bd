/**
 * team_meta: the team's id and a check value sealed with the team key. A machine proves its key
 * against the check value before it seals or opens anything (TeamStore.checkKey), so a wrong key
 * is one clear error (TEAM_KEY_WRONG) instead of every profile looking altered.
 */
import type pg from 'pg';
import { AppError } from '../../../shared/src/errors.js';
import { seal } from '../vault/crypto.js';
import { nodeCrypto } from '../vault/node-crypto.js';
import { run, transaction } from './pg-pool.js';
import { TEAM_KEY_CHECK_PLAINTEXT, teamKeyCheckAad } from './team-seal.js';

export interface TeamMeta {
  teamId: string;
  keyCheck: Buffer;
  /** This connect set the team up (team init). */
  created: boolean;
}

async function read(pool: pg.Pool): Promise<Omit<TeamMeta, 'created'> | undefined> {
  const rows = (await run<{ k: string; v: Buffer }>(pool, "SELECT k, v FROM team_meta WHERE k IN ('team_id', 'key_check')")).rows;
  const id = rows.find((r) => r.k === 'team_id')?.v;
  const check = rows.find((r) => r.k === 'key_check')?.v;
  return id && check ? { teamId: id.toString('utf8'), keyCheck: check } : undefined;
}

/**
 * The team's meta rows. With `create`, an empty store is set up for `key` (both rows in one
 * statement; of two machines doing it at once, one wins and the other's key is then checked
 * against the winner's check value). Without it, an empty store is TEAM_NOT_SET_UP.
 */
export async function loadTeamMeta(pool: pg.Pool, key: Buffer, create: boolean): Promise<TeamMeta> {
  const found = await read(pool);
  if (found) return { ...found, created: false };
  if (!create) throw new AppError('TEAM_NOT_SET_UP');
  const teamId = nodeCrypto().randomUUID();
  const keyCheck = seal(key, TEAM_KEY_CHECK_PLAINTEXT, teamKeyCheckAad(teamId));
  const inserted = await transaction(pool, async (c) => {
    const r = await c.query(
      "INSERT INTO team_meta (k, v) VALUES ('team_id', $1), ('key_check', $2) ON CONFLICT (k) DO NOTHING",
      [Buffer.from(teamId, 'utf8'), keyCheck],
    );
    return r.rowCount === 2;
  });
  const now = await read(pool);
  if (!now) throw new AppError('TEAM_NOT_SET_UP', 'the team rows were not written');
  return { ...now, created: inserted && now.teamId === teamId };
}
