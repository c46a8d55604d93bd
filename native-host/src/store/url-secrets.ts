/** What of a postgres:// URL is secret, for the log's redaction, the argv check and what is shown. */
/** Where a postgres URL may carry secrets: its password, or these query parameters (pg-connection-string reads them). */
export const SECRET_PARAMS = ['password', 'sslpassword', 'sslkey'];

/** The secrets a postgres URL carries (its password, a password in the query), for the log's redaction and the argv check. */
export function urlSecrets(url: string): string[] {
  if (!URL.canParse(url)) return [];
  const u = new URL(url);
  const out = [decodeURIComponent(u.password), ...SECRET_PARAMS.map((k) => u.searchParams.get(k) ?? '')];
  return out.filter((x) => x !== '');
}
