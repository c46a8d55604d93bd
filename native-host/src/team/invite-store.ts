/**
 * Where a team invite waits for the one machine that joins with it: a row in the team store,
 * taken (deleted) by the join. The row alone holds only the team key wrapped under a key that
 * needs both the invite text and the code said by phone; the invite text alone, once used,
 * points at nothing.
 */
export interface TeamInviteRecord {
  id: string;
  /** The team key, wrapped (invite.ts); opens only with the invite's secret and the spoken code. */
  wrapped: Buffer;
  expiresAt: number;
  /** Who made it (host and OS user), shown to the joiner. */
  createdBy: string;
}

export interface InviteStore {
  putInvite(r: TeamInviteRecord): Promise<void>;
  /** Deletes and returns the invite; undefined when there is none or it expired before `now`. */
  takeInvite(id: string, now: number): Promise<TeamInviteRecord | undefined>;
}
