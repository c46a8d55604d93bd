/**
 * team_meta: the team's registration (team-key.ts TeamRegistration: its id, and a check value
 * sealed with the team key), recorded once when the team is made (`team init`). A machine proves
 * its key against it before it seals or opens anything (TeamStore.checkKey), so a wrong key is one
 * clear error (TEAM_KEY_WRONG) instead of every profile looking altered; a joining machine, which
 * has no key yet, reads it to check the invite names this team.
 */
import type pg from 'pg';
import { AppError } from '#shared/errors.js';
import { run, transaction } from './pg-pool.js';
import type { TeamRegistration } from './team-key.js';

export interface TeamMeta {
  registration: TeamRegistration;
  /** This connect recorded the registration it was given (the store had no team). */
  recorded: boolean;
}

async function read(pool: pg.Pool): Promise<TeamRegistration | undefined> {
  const rows = (await run<{ k: string; v: Buffer }>(pool, "SELECT k, v FROM team_meta WHERE k IN ('team_id', 'key_check')")).rows;
  const id = rows.find((r) => r.k === 'team_id')?.v;
  const check = rows.find((r) => r.k === 'key_check')?.v;
  return id && check ? { teamId: id.toString('utf8'), keyCheck: check } : undefined;
}

/**
 * The team's registration. Given `register`, a store without a team records it (both rows in one
 * statement: of two machines doing it at once, one wins, and the other's key is then checked
 * against the winner's). Without it, a store without a team is TEAM_NOT_SET_UP.
 */
export async function loadTeamMeta(pool: pg.Pool, register: TeamRegistration | undefined): Promise<TeamMeta> {
  const found = await read(pool);
  if (found) return { registration: found, recorded: false };
  if (!register) throw new AppError('TEAM_NOT_SET_UP');
  const inserted = await transaction(pool, async (c) => {
    const r = await c.query("INSERT INTO team_meta (k, v) VALUES ('team_id', $1), ('key_check', $2) ON CONFLICT (k) DO NOTHING", [
      Buffer.from(register.teamId, 'utf8'),
      register.keyCheck,
    ]);
    return r.rowCount === 2;
  });
  const now = await read(pool);
  if (!now) throw new AppError('TEAM_NOT_SET_UP', 'the team rows were not written');
  return { registration: now, recorded: inserted };
}
