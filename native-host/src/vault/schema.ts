/**
 * The vault's tables. Times are milliseconds since the epoch; sealed columns are AES-GCM blobs.
 * Tables added later use CREATE TABLE IF NOT EXISTS and leave the version alone: older builds
 * that share the vault keep working and simply ignore them.
 */
/**
 * 2: client secrets and tokens are sealed bound to their profile's server, client ID and callback
 * URL (aad.ts; an older vault is migrated when its key is first used). A build of version 1
 * could not open them: it refuses the vault ("written by a newer version") instead.
 */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (
  name TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  env TEXT NOT NULL,
  refresh_window_days INTEGER NOT NULL,
  secret BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  profile TEXT PRIMARY KEY REFERENCES profiles(name) ON DELETE CASCADE,
  access BLOB NOT NULL,
  refresh BLOB,
  access_expires_at INTEGER NOT NULL,
  refresh_expires_at INTEGER,
  authorized_at INTEGER NOT NULL,
  last_refresh_at INTEGER,
  cert_subject TEXT,
  cert_serial TEXT,
  cert_sha256 TEXT,
  cert_source TEXT,
  cert_label TEXT,
  state_echoed INTEGER NOT NULL DEFAULT 1,
  dead_reason TEXT,
  last_error TEXT,
  last_failure_at INTEGER,
  generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_access_expiry ON tokens(access_expires_at);
CREATE TABLE IF NOT EXISTS pending_authorizations (
  state_hash TEXT PRIMARY KEY,
  profile TEXT NOT NULL REFERENCES profiles(name) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
-- Programs allowed to ask "anaf-token serve" for tokens. Each key is sealed with the vault key
-- (key_sealed, added later); key_hash is the SHA-256 older builds kept, empty for sealed keys.
CREATE TABLE IF NOT EXISTS api_clients (
  name TEXT PRIMARY KEY,
  key_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);
-- Who got which generation of which profile's token, when, from which machine and OS user
-- (the first hand-out per client and generation, and refusals); see serve/audit.ts.
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  profile TEXT NOT NULL,
  client TEXT NOT NULL,
  generation INTEGER NOT NULL,
  host TEXT NOT NULL,
  os_user TEXT NOT NULL,
  action TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(at);
`;

/** Columns added after a table was first shipped: an older vault gains them when it is opened. */
export const ADDED_COLUMNS: { table: string; column: string; decl: string }[] = [
  { table: 'tokens', column: 'cert_source', decl: 'TEXT' },
  { table: 'tokens', column: 'cert_label', decl: 'TEXT' },
  { table: 'tokens', column: 'cert_issuer', decl: 'TEXT' },
  { table: 'tokens', column: 'cert_roles', decl: 'TEXT' },
  // 'basic' or 'post': how ANAF last accepted the client id and secret (NULL: not learnt yet).
  { table: 'profiles', column: 'client_auth', decl: 'TEXT' },
  // 1: this ERP client may see the personal ID number (serialNumber=PNO…) in certificate subjects.
  { table: 'api_clients', column: 'personal_id', decl: 'INTEGER NOT NULL DEFAULT 0' },
  // The client key sealed with the vault key (the service needs it to check proofs); NULL: a row
  // from a build that kept only key_hash, which proves nothing any more (add the client again).
  { table: 'api_clients', column: 'key_sealed', decl: 'BLOB' },
  // JSON array of the profiles this client may get tokens of (NULL: all), bound to key_sealed's associated data.
  { table: 'api_clients', column: 'profiles', decl: 'TEXT' },
];
