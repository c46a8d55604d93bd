/**
 * ANAF's rule for a token it does not take (../shared/anaf-facts.md): on 401/403 check the
 * token, refresh it once, retry the call once, then report "not authorized"; never loop. The
 * token store is the caller's (tokens/): it hands in how to get the current token and how to
 * get a refreshed one. A 401/403 means ANAF did not act on the call, so repeating it is safe.
 */
import { AppError } from '#shared/errors.js';

export interface TokenSource {
  /** The stored access token (refreshed first if it is due). */
  current(): Promise<string>;
  /** A new access token after the one given was refused; throws when none can be had. */
  refreshed(refused: string): Promise<string>;
}

export async function withTokenRetry<T>(tokens: TokenSource, run: (accessToken: string) => Promise<T>): Promise<T> {
  const first = await tokens.current();
  try {
    return await run(first);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'ANAF_API_NOT_AUTHORIZED') throw e;
  }
  const second = await tokens.refreshed(first);
  return run(second);
}
