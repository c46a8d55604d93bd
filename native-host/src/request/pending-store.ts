/**
 * The requester's side of request links: one small SQLite file, requests.sqlite, in the data
 * folder (0600, like the vault), kept apart from the vault so that neither engine of the Store
 * (local vault, team store) needs to know about it. A request's private key is kept only while
 * the request is open: it is erased when the answer is imported, the request is cancelled, or it
 * expires (checked on every open). Only a hash of the state is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Environment } from '#shared/schemas/profile.js';
import { IMPORT_GRACE_MS } from '#shared/request/format.js';
import type { Paths } from '../config/paths.js';
import { openDatabase, type DatabaseSync } from '../vault/sqlite.js';

export type RequestStatus = 'pending' | 'used' | 'cancelled' | 'expired';

export interface PendingRequest {
  id: string;
  profile: string;
  env: Environment;
  clientId: string;
  redirectUri: string;
  stateHash: string;
  publicKey: string;
  /** Present only while the request is open. */
  privateJwk: JsonWebKey | undefined;
  note: string | undefined;
  passphrase: boolean;
  createdAt: number;
  expiresAt: number;
  status: RequestStatus;
  endedAt: number | undefined;
  /** The certificate serial ANAF's token named, once imported. */
  certificateSerial: string | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  env TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  state_hash TEXT NOT NULL,
  public_key TEXT NOT NULL,
  private_jwk TEXT,
  note TEXT,
  passphrase INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  ended_at INTEGER,
  cert_serial TEXT
);`;

interface Row {
  id: string;
  profile: string;
  env: string;
  client_id: string;
  redirect_uri: string;
  state_hash: string;
  public_key: string;
  private_jwk: string | null;
  note: string | null;
  passphrase: number;
  created_at: number;
  expires_at: number;
  status: string;
  ended_at: number | null;
  cert_serial: string | null;
}

const STATUSES: readonly RequestStatus[] = ['pending', 'used', 'cancelled', 'expired'];

function fromRow(r: Row): PendingRequest {
  return {
    id: r.id,
    profile: r.profile,
    env: r.env,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    stateHash: r.state_hash,
    publicKey: r.public_key,
    privateJwk: r.private_jwk === null ? undefined : (JSON.parse(r.private_jwk) as JsonWebKey),
    note: r.note ?? undefined,
    passphrase: r.passphrase === 1,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: STATUSES.includes(r.status as RequestStatus) ? (r.status as RequestStatus) : 'expired',
    endedAt: r.ended_at ?? undefined,
    certificateSerial: r.cert_serial ?? undefined,
  };
}

/** Where a machine's requests live, and its clock. */
export interface RequestsPlace {
  paths: Paths;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export class PendingRequests {
  private constructor(
    private readonly db: DatabaseSync,
    private readonly now: () => number,
  ) {}

  /** The machine's requests, in its data folder (`place` is the App, or a test's paths and clock). */
  static open(place: RequestsPlace): PendingRequests {
    const now = place.now ?? Date.now;
    const file = path.join(place.paths.dataDir, 'requests.sqlite');
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
    const db = openDatabase(file);
    db.exec('PRAGMA busy_timeout = 5000;');
    db.exec(SCHEMA);
    const store = new PendingRequests(db, now);
    store.expireOld();
    return store;
  }

  close(): void {
    this.db.close();
  }

  /** Requests past their expiry and grace lose their private key: no answer can open any more. */
  expireOld(): void {
    const t = this.now();
    this.db
      .prepare("UPDATE requests SET status = 'expired', private_jwk = NULL, ended_at = ? WHERE status = 'pending' AND expires_at + ? < ?")
      .run(t, IMPORT_GRACE_MS, t);
  }

  add(r: Omit<PendingRequest, 'status' | 'endedAt' | 'certificateSerial'>): void {
    this.db
      .prepare(
        `INSERT INTO requests (id, profile, env, client_id, redirect_uri, state_hash, public_key, private_jwk, note, passphrase, created_at, expires_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
      )
      .run(
        r.id,
        r.profile,
        r.env,
        r.clientId,
        r.redirectUri,
        r.stateHash,
        r.publicKey,
        r.privateJwk === undefined ? null : JSON.stringify(r.privateJwk),
        r.note ?? null,
        r.passphrase ? 1 : 0,
        r.createdAt,
        r.expiresAt,
      );
  }

  get(id: string): PendingRequest | undefined {
    const row = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  list(): PendingRequest[] {
    return (this.db.prepare('SELECT * FROM requests ORDER BY created_at DESC').all() as unknown as Row[]).map(fromRow);
  }

  /**
   * Takes an open request for its import: true for exactly one caller. The private key stays
   * until finish() (a failed save gives the request back with release()).
   */
  claim(id: string): boolean {
    const r = this.db.prepare("UPDATE requests SET status = 'used', ended_at = ? WHERE id = ? AND status = 'pending'").run(this.now(), id);
    return Number(r.changes) === 1;
  }

  release(id: string): void {
    this.db.prepare("UPDATE requests SET status = 'pending', ended_at = NULL WHERE id = ? AND status = 'used'").run(id);
  }

  finish(id: string, certificateSerial: string | undefined): void {
    this.db.prepare('UPDATE requests SET private_jwk = NULL, cert_serial = ? WHERE id = ?').run(certificateSerial ?? null, id);
  }

  cancel(id: string): boolean {
    const r = this.db
      .prepare("UPDATE requests SET status = 'cancelled', private_jwk = NULL, ended_at = ? WHERE id = ? AND status = 'pending'")
      .run(this.now(), id);
    return Number(r.changes) === 1;
  }
}
