/**
 * Each profile's callback URL: https (ANAF accepts nothing else), no credentials, and no
 * query parameter that the callback itself uses. The extension intercepts exactly this URL in
 * the authorization tab, and ANAF redirects to it only if it is registered character for character.
 */
import { oauthEndpoints } from '../oauth/endpoints.js';
import type { Check, Finding } from './check.js';
import { storeOrNothing } from './check.js';
import { ANAF_CAUSES } from '#shared/anaf-causes.js';

const CHECK = 'profile';
const CALLBACK_PARAMS = ['code', 'state', 'error', 'error_description'];

export function callbackProblems(redirectUri: string): { status: 'fail' | 'warn'; message: string }[] {
  if (!URL.canParse(redirectUri)) return [{ status: 'fail', message: `the callback URL is not a URL: ${redirectUri}` }];
  const u = new URL(redirectUri);
  const problems: { status: 'fail' | 'warn'; message: string }[] = [];
  if (u.protocol !== 'https:') problems.push({ status: 'fail', message: `the callback URL is not https: ${redirectUri}` });
  if (u.username || u.password) problems.push({ status: 'fail', message: 'the callback URL carries a user name or password' });
  if (u.hash) problems.push({ status: 'fail', message: 'the callback URL has a #fragment' });
  const clash = CALLBACK_PARAMS.filter((p) => u.searchParams.has(p));
  if (clash.length) problems.push({ status: 'fail', message: `the callback URL already has ${clash.join(', ')} in its query, which ANAF's answer needs` });
  if (u.href !== redirectUri) {
    problems.push({ status: 'warn', message: `the callback URL is written unusually (browsers use ${u.href}); ANAF must have exactly ${redirectUri}` });
  }
  return problems;
}

export const profilesCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const vault = await storeOrNothing(ctx);
    if (!vault) return [];
    const findings: Finding[] = [];
    for (const p of await vault.listProfiles()) {
      const server = p.env === 'prod' || p.env === 'test' ? `ANAF (${p.env})` : `OAuth server ${oauthEndpoints(p.env).issuer}`;
      const problems = callbackProblems(p.redirectUri);
      if (!problems.length) {
        findings.push({ check: CHECK, subject: p.name, status: 'ok', message: `callback ${p.redirectUri}; ${server}` });
        continue;
      }
      for (const pr of problems) {
        findings.push({
          check: CHECK,
          subject: p.name,
          status: pr.status,
          message: pr.message,
          advice: {
            ro: 'Folosiți adresa https de callback a aplicației din portalul ANAF, copiată exact, și salvați profilul din nou (extensie sau "anaf-token profile remove" + "profile add").',
            en: 'Use the application\'s https callback URL from ANAF\'s portal, copied exactly, and save the profile again (extension, or "anaf-token profile remove" + "profile add").',
          },
          causes: [ANAF_CAUSES.redirectMismatch],
        });
      }
    }
    return findings;
  },
};
