/**
 * Handing the team key to another machine, through the team store itself.
 *
 * `team invite` makes three things:
 * - the invite text, sent in writing (mail, chat):  anaf-team:1:<100 base64url characters>
 *   carrying 75 bytes: invite id (16) · team id (16) · invite secret (32 random bytes) ·
 *   expiry (6, milliseconds since 1970, big-endian) · check (5: SHA-256 of the prefix and the
 *   70 bytes before it, cut short). 75 is a multiple of 3: no padding bits an edit could hide in.
 * - the code, said by phone: 10 random Crockford base32 characters (50 bits) and a Luhn mod 32
 *   check character, read in groups of four (7KQ2-M9XD-4TR). The check character catches a
 *   mistyped character before the invite is spent, and adds nothing to guess.
 * - the row (TeamInviteRecord) put into the team store: the team key sealed (vault/crypto.ts:
 *   AES-256-GCM, random 96-bit IV) under
 *     KEK = scrypt(secret ‖ the code's 10 characters, salt "anaf-team-invite:v1:<invite id>:<team id>",
 *                  N = 2^17, r = 8, p = 1, 32 bytes)   (128 MiB, about 0.4 s once per invite and once per join)
 *   with associated data "anaf-team:invite:v1:<invite id>:<team id>:<expiry>", so that a row
 *   moved under another id, or an invite text whose fields were edited (even with its check
 *   recomputed), does not open.
 *
 * Who can read the key: the row alone (a DBA, a backup) lacks the 256-bit secret: nothing. The
 * invite text alone: one try at the 50-bit code, since the join takes (deletes) the row before it
 * unwraps; a wrong code spends the invite (INVITE_CODE_WRONG), so guessing online is one chance
 * in 2^50. The text together with a copy of the row: an offline search of the code, which scrypt
 * makes cost 128 MiB and ~0.4 s of a core per guess (2^49 guesses on average). Both the text and
 * the code: that is the invite, and it opens once, until it expires.
 *
 * Parsing is strict: the prefix, the length, the alphabet, the canonical base64url form and the
 * check bytes must all hold (INVITE_INVALID), white space anywhere is ignored (mail programs
 * wrap long lines). Nothing here logs; the text, the secret and the code are never put in an
 * error's detail.
 */
import { promisify } from 'node:util';
import { AppError } from '#shared/errors.js';
import { open, seal } from '../vault/crypto.js';
import { nodeCrypto } from '../vault/node-crypto.js';
import { CROCKFORD, groupsOfFour, luhnCheckChar, luhnValid, normalizeCrockford } from './crockford.js';
import type { InviteStore, TeamInviteRecord } from './invite-store.js';
import { TEAM_ID_RE, teamIdOf } from './team-key.js';

export const INVITE_PREFIX = 'anaf-team:1:';

const ID_BYTES = 16;
const TEAM_ID_BYTES = 16;
const SECRET_BYTES = 32;
const EXPIRY_BYTES = 6;
const CHECK_BYTES = 5;
const BODY_BYTES = ID_BYTES + TEAM_ID_BYTES + SECRET_BYTES + EXPIRY_BYTES;
const PAYLOAD_BYTES = BODY_BYTES + CHECK_BYTES;
const PAYLOAD_CHARS = (PAYLOAD_BYTES / 3) * 4;

/** 10 random characters (50 bits) and a check character. */
export const CODE_RANDOM_CHARS = 10;

/** scrypt's cost: memory-hard, so a search of the code with a copied row costs memory as well as time. */
export const INVITE_SCRYPT = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const;

export const DEFAULT_INVITE_TTL_MS = 24 * 3_600_000;
export const MAX_INVITE_TTL_MS = 7 * 24 * 3_600_000;
const MIN_INVITE_TTL_MS = 60_000;

export interface ParsedInvite {
  inviteId: string;
  teamId: string;
  secret: Buffer;
  expiresAt: number;
}

export interface MadeInvite {
  /** The invite text, to send in writing. */
  text: string;
  /** The code, to say by phone: `XXXX-XXXX-XXX`. */
  code: string;
  inviteId: string;
  expiresAt: number;
  /** The row for the team store (InviteStore.putInvite). */
  record: TeamInviteRecord;
}

export interface AcceptedInvite {
  teamKey: Buffer;
  teamId: string;
  inviteId: string;
  createdBy: string;
}

const checkBytes = (body: Buffer) => nodeCrypto().createHash('sha256').update(INVITE_PREFIX).update(body).digest().subarray(0, CHECK_BYTES);

const inviteAad = (p: Pick<ParsedInvite, 'inviteId' | 'teamId' | 'expiresAt'>) => `anaf-team:invite:v1:${p.inviteId}:${p.teamId}:${p.expiresAt}`;

type Scrypt = (pw: Buffer, salt: Buffer, len: number, opts: typeof INVITE_SCRYPT) => Promise<Buffer>;
let scrypt: Scrypt | undefined;

/** The key the team key is wrapped under: both the secret (from the text) and the code are needed. */
function wrappingKey(p: Pick<ParsedInvite, 'inviteId' | 'teamId' | 'secret'>, codeChars: string): Promise<Buffer> {
  scrypt ??= promisify(nodeCrypto().scrypt) as Scrypt;
  const password = Buffer.concat([p.secret, Buffer.from(codeChars, 'ascii')]);
  const salt = Buffer.from(`anaf-team-invite:v1:${p.inviteId}:${p.teamId}`, 'utf8');
  return scrypt(password, salt, 32, INVITE_SCRYPT);
}

export function formatInvite(p: ParsedInvite): string {
  if (!/^[0-9a-f]{32}$/.test(p.inviteId) || !TEAM_ID_RE.test(p.teamId) || p.secret.length !== SECRET_BYTES) throw new Error('invite fields out of shape');
  if (!Number.isSafeInteger(p.expiresAt) || p.expiresAt < 0 || p.expiresAt >= 2 ** 48) throw new Error('invite expiry out of range');
  const body = Buffer.alloc(BODY_BYTES);
  Buffer.from(p.inviteId, 'hex').copy(body, 0);
  Buffer.from(p.teamId, 'hex').copy(body, ID_BYTES);
  p.secret.copy(body, ID_BYTES + TEAM_ID_BYTES);
  body.writeUIntBE(p.expiresAt, ID_BYTES + TEAM_ID_BYTES + SECRET_BYTES, EXPIRY_BYTES);
  return INVITE_PREFIX + Buffer.concat([body, checkBytes(body)]).toString('base64url');
}

/** The invite's fields; INVITE_INVALID, naming what is wrong but never echoing the text, otherwise. */
export function parseInvite(input: string): ParsedInvite {
  const text = input.replace(/\s/g, '');
  if (!text.startsWith(INVITE_PREFIX)) throw new AppError('INVITE_INVALID', 'it does not start with anaf-team:1:');
  const chars = text.slice(INVITE_PREFIX.length);
  if (chars.length !== PAYLOAD_CHARS) throw new AppError('INVITE_INVALID', `it has ${chars.length} characters after the prefix instead of ${PAYLOAD_CHARS}`);
  if (!/^[A-Za-z0-9_-]+$/.test(chars)) throw new AppError('INVITE_INVALID', 'it holds characters an invite never has');
  const payload = Buffer.from(chars, 'base64url');
  // Only the canonical spelling: Node's decoder skips what it does not understand.
  if (payload.length !== PAYLOAD_BYTES || payload.toString('base64url') !== chars) throw new AppError('INVITE_INVALID', 'it is not well formed');
  const body = payload.subarray(0, BODY_BYTES);
  if (!nodeCrypto().timingSafeEqual(checkBytes(body), payload.subarray(BODY_BYTES)))
    throw new AppError('INVITE_INVALID', 'its check characters do not match: part of it was changed or lost');
  return {
    inviteId: body.subarray(0, ID_BYTES).toString('hex'),
    teamId: body.subarray(ID_BYTES, ID_BYTES + TEAM_ID_BYTES).toString('hex'),
    secret: Buffer.from(body.subarray(ID_BYTES + TEAM_ID_BYTES, ID_BYTES + TEAM_ID_BYTES + SECRET_BYTES)),
    expiresAt: body.readUIntBE(ID_BYTES + TEAM_ID_BYTES + SECRET_BYTES, EXPIRY_BYTES),
  };
}

/** A new code in its spoken form. */
export function newInviteCode(): string {
  const crypto = nodeCrypto();
  let chars = '';
  for (let i = 0; i < CODE_RANDOM_CHARS; i++) chars += CROCKFORD[crypto.randomInt(CROCKFORD.length)];
  return groupsOfFour(chars + luhnCheckChar(chars));
}

/**
 * The code's 10 random characters from what was typed: any case, spaces and dashes anywhere,
 * O for 0, I or L for 1. INVITE_CODE_MALFORMED (nothing spent) when the form or the check character is wrong.
 */
export function normalizeInviteCode(typed: string): string {
  const s = normalizeCrockford(typed);
  if (s === undefined) throw new AppError('INVITE_CODE_MALFORMED', 'it holds a character that is not a digit or one of the letters used');
  if (s.length !== CODE_RANDOM_CHARS + 1)
    throw new AppError('INVITE_CODE_MALFORMED', `it has ${s.length} letters and digits instead of ${CODE_RANDOM_CHARS + 1}`);
  if (!luhnValid(s)) throw new AppError('INVITE_CODE_MALFORMED', 'one of its characters was mistyped (its last character does not match the others)');
  return s.slice(0, CODE_RANDOM_CHARS);
}

export function checkInviteTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_INVITE_TTL_MS || ttlMs > MAX_INVITE_TTL_MS) {
    throw new AppError('BAD_REQUEST', 'an invite lives between 1 minute and 7 days');
  }
}

/** A one-time invite for `teamKey`; the caller puts `record` into the team store and shows `text` and `code`. */
export async function makeInvite(teamKey: Buffer, teamId: string, createdBy: string, ttlMs: number, now: number = Date.now()): Promise<MadeInvite> {
  if (teamKey.length !== 32) throw new Error('a team key has 32 bytes');
  if (teamIdOf(teamKey) !== teamId) throw new Error('the team id is not the one of this key');
  checkInviteTtl(ttlMs);
  const crypto = nodeCrypto();
  const fields: ParsedInvite = {
    inviteId: crypto.randomBytes(ID_BYTES).toString('hex'),
    teamId,
    secret: crypto.randomBytes(SECRET_BYTES),
    expiresAt: now + ttlMs,
  };
  const code = newInviteCode();
  const kek = await wrappingKey(fields, normalizeInviteCode(code));
  const wrapped = seal(kek, teamKey.toString('base64'), inviteAad(fields));
  return {
    text: formatInvite(fields),
    code,
    inviteId: fields.inviteId,
    expiresAt: fields.expiresAt,
    record: { id: fields.inviteId, wrapped, expiresAt: fields.expiresAt, createdBy },
  };
}

/**
 * Takes the invite's row from the store (it is gone afterwards, whatever follows) and unwraps
 * the team key. INVITE_INVALID: the text is damaged; INVITE_CODE_MALFORMED: the code's form
 * (nothing spent); INVITE_USED_OR_EXPIRED: no row (used, expired, or never put); INVITE_CODE_WRONG:
 * the code (or a secret edited together with its check) does not open the row, which is spent.
 */
export async function acceptInvite(inviteText: string, code: string, store: InviteStore, now: number = Date.now()): Promise<AcceptedInvite> {
  const invite = parseInvite(inviteText);
  const codeChars = normalizeInviteCode(code);
  if (invite.expiresAt <= now) throw new AppError('INVITE_USED_OR_EXPIRED', `it expired at ${new Date(invite.expiresAt).toISOString()}`);
  const row = await store.takeInvite(invite.inviteId, now);
  if (!row) throw new AppError('INVITE_USED_OR_EXPIRED');
  const kek = await wrappingKey(invite, codeChars);
  let keyText: string;
  try {
    keyText = open(kek, row.wrapped, inviteAad(invite));
  } catch {
    throw new AppError('INVITE_CODE_WRONG');
  }
  const teamKey = Buffer.from(keyText, 'base64');
  // Sealed by makeInvite, so this holds unless the inviting build is broken: never keep such a key.
  if (teamKey.length !== 32 || teamKey.toString('base64') !== keyText || teamIdOf(teamKey) !== invite.teamId) {
    throw new AppError('INVITE_INVALID', 'the key it carries is not the key of its team');
  }
  return { teamKey, teamId: invite.teamId, inviteId: invite.inviteId, createdBy: row.createdBy };
}
