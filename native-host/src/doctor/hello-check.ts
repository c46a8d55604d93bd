/**
 * Does ANAF accept each live access token right now? The same single call to TestOauth hello
 * as `anaf-token check` (tokens/check-token.ts), for every profile whose access token has not
 * ended here (valid or expiring): ok → ok, not-authorized → fail, unavailable → warn. Tokens
 * that are missing, expired or dead are the token check's business. Never refreshes.
 */
import { AppError, messagesFor } from '#shared/errors.js';
import type { TokenCheck } from '#shared/schemas/token-check.js';
import { silentLogger } from '../log/logger.js';
import { checkToken } from '../tokens/check-token.js';
import { tokenState } from '../tokens/status.js';
import type { Bilingual, Check, Finding } from './check.js';
import { storeOrNothing } from './check.js';
import { explainAnafError } from '#shared/anaf-causes.js';

const CHECK = 'hello';

const advise = (code: AppError['code']): Bilingual => {
  const m = messagesFor(code);
  return { ro: m.ro, en: m.en };
};

function finding(c: TokenCheck): Omit<Finding, 'check' | 'subject'> {
  if (c.result === 'ok') return { status: 'ok', message: `ANAF accepts the access token (TestOauth hello: HTTP ${c.httpStatus ?? 200})` };
  if (c.result === 'not-authorized') {
    return { status: 'fail', message: `ANAF does not accept the access token (${c.detail ?? `HTTP ${c.httpStatus}`})`, advice: advise('TOKEN_NOT_AUTHORIZED') };
  }
  return {
    status: 'warn',
    message: `ANAF gave no verdict on the access token (${c.detail ?? 'no answer'})`,
    advice: advise('ANAF_UNAVAILABLE'),
    causes: explainAnafError('ANAF_UNAVAILABLE'),
  };
}

export interface HelloCheckOptions {
  /** For tests; the global fetch otherwise. */
  fetch?: typeof globalThis.fetch;
}

export function makeHelloCheck(opts: HelloCheckOptions = {}): Check {
  return {
    id: CHECK,
    async run(ctx) {
      const vault = await storeOrNothing(ctx);
      if (!vault) return [];
      const tokens = await vault.allTokens();
      const now = ctx.now();
      const findings: Finding[] = [];
      // One at a time: a handful of profiles is usual, and ANAF counts calls per minute.
      for (const p of await vault.listProfiles()) {
        const state = tokenState(p, tokens.get(p.name), now);
        if (state !== 'valid' && state !== 'expiring') continue;
        try {
          const c = await checkToken({ store: vault, log: silentLogger, now: ctx.now, client: { timeoutMs: ctx.timeoutMs } }, p.name, opts);
          findings.push({ check: CHECK, subject: p.name, ...finding(c) });
        } catch (e) {
          const err = AppError.from(e);
          findings.push({
            check: CHECK,
            subject: p.name,
            status: 'warn',
            message: `the token could not be checked: ${err.code}${err.detail ? ` (${err.detail})` : ''}`,
            advice: advise(err.code),
          });
        }
      }
      return findings;
    },
  };
}

export const helloCheck: Check = makeHelloCheck();
