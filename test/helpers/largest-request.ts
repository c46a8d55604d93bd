/**
 * The longest valid native request of each type, as a JSON serializer (Chrome's, or
 * JSON.stringify) writes it: every free-text field at its maximum length, filled with a
 * character that is escaped as \u0001 (six bytes, the most one UTF-16 unit can take).
 * Fields with a narrower alphabet (profile names, hex ids, URLs) use their widest valid one.
 */
const worst = (n: number) => '\u0001'.repeat(n);
const id = worst(64);
const name = 'n'.repeat(64);
const url = (n: number) => {
  const head = 'https://erp.example.ro/';
  return head + 'a'.repeat(n - head.length);
};

export const LARGEST_REQUESTS: Record<string, Record<string, unknown>> = {
  hello: { id, type: 'hello', protocol: -Number.MAX_SAFE_INTEGER },
  status: { id, type: 'status' },
  'profile.save': {
    id,
    type: 'profile.save',
    name,
    clientId: '"'.repeat(256),
    clientSecret: '"'.repeat(512),
    redirectUri: url(2048),
    env: url(2048),
    refreshWindowDays: 80,
  },
  'profile.remove': { id, type: 'profile.remove', profile: name },
  'authorize.start': { id, type: 'authorize.start', profile: name },
  'authorize.complete': { id, type: 'authorize.complete', profile: name, callbackUrl: url(8192) },
  'token.refresh': { id, type: 'token.refresh', profile: name, force: false },
  'token.revoke': { id, type: 'token.revoke', profile: name },
  'token.check': { id, type: 'token.check', profile: name },
  'token.label': { id, type: 'token.label', profile: name, label: ` ${'x'.repeat(126)}${'\t'.repeat(129)}` },
  'refresh.due': { id, type: 'refresh.due' },
  'certs.list': { id, type: 'certs.list', modules: Array.from({ length: 16 }, () => worst(1024)) },
  'pin.check': { id, type: 'pin.check', module: worst(1024), tokenSerial: worst(64), certId: 'a'.repeat(256), pin: worst(64) },
  'request.create': { id, type: 'request.create', profile: name, validMs: 72 * 3_600_000, note: worst(200), passphrase: worst(128) },
  'request.list': { id, type: 'request.list' },
  // Ids and answers are base64url and dots only.
  'request.cancel': { id, type: 'request.cancel', requestId: 'A'.repeat(22) },
  'request.import': { id, type: 'request.import', answer: 'a'.repeat(48 * 1024) },
};

export const encodedBytes = (m: unknown): number => Buffer.byteLength(JSON.stringify(m), 'utf8');

/** The longest of them all (certs.list: sixteen driver paths). */
export const LARGEST_REQUEST = LARGEST_REQUESTS['certs.list']!;
