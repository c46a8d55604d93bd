/**
 * Can this computer reach ANAF's OAuth server (or the profile's configured one), and does its
 * clock agree with the server's `Date`? A skewed clock makes tokens look expired or valid when
 * they are not, and TLS certificates fail.
 */
import https from 'node:https';
import tls from 'node:tls';
import { ANAF_OAUTH_BASE, oauthEndpoints } from '../oauth/endpoints.js';
import type { Bilingual, Check, DoctorContext, Finding } from './check.js';
import { storeOrNothing } from './check.js';
import { ANAF_CAUSES } from '#shared/anaf-causes.js';

const CHECK = 'anaf';
export const SKEW_WARN_MS = 60_000;
export const SKEW_FAIL_MS = 5 * 60_000;

const CLOCK_ADVICE: Bilingual = {
  ro: 'Potriviți ceasul calculatorului (sincronizare automată a orei și fusul orar corect).',
  en: "Set the computer's clock right (automatic time synchronisation and the right time zone).",
};

/** What a failed request says about why, in words a user can act on. */
function whyUnreachable(code: string): { message: string; advice: Bilingual } {
  if (code === 'TIMEOUT') return { message: 'no answer in time', advice: ANAF_CAUSES.network };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return {
      message: `the name does not resolve (${code})`,
      advice: { ro: 'Verificați DNS-ul și conexiunea la internet.', en: 'Check DNS and the internet connection.' },
    };
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return {
      message: `the TLS certificate is not trusted (${code})`,
      advice: {
        ro: 'Un proxy sau un antivirus interceptează TLS, ori ceasul este greșit. Pentru un server de test cu CA proprie, dați CA-ul în NODE_EXTRA_CA_CERTS.',
        en: 'A proxy or antivirus intercepts TLS, or the clock is wrong. For a test server with its own CA, give the CA in NODE_EXTRA_CA_CERTS.',
      },
    };
  }
  return { message: `the connection failed (${code})`, advice: ANAF_CAUSES.network };
}

type HeadResult = { status: number; date: string | undefined } | { error: string };

/** HEAD on the server's root: any HTTP answer means it is reachable, and carries its Date. */
function head(ctx: DoctorContext, url: string): Promise<HeadResult> {
  return new Promise((resolve) => {
    const ca = ctx.extraCa ? { ca: [...tls.rootCertificates, ctx.extraCa] } : {};
    const req = https.request(url, { method: 'HEAD', timeout: ctx.timeoutMs, agent: false, ...ca }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, date: res.headers.date });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

async function probe(ctx: DoctorContext, base: string): Promise<Finding> {
  const subject = base;
  const sent = ctx.now();
  const res = await head(ctx, `${base}/`);
  if ('error' in res) {
    const why = whyUnreachable(res.error);
    return { check: CHECK, subject, status: 'fail', message: `cannot reach ${base}: ${why.message}`, advice: why.advice };
  }
  const received = ctx.now();
  const serverTime = res.date ? Date.parse(res.date) : NaN;
  const reached = `reachable (HTTP ${res.status} in ${received - sent} ms)`;
  if (!Number.isFinite(serverTime)) {
    return { check: CHECK, subject, status: 'warn', message: `${reached}; no Date header, so the clock was not compared` };
  }
  // The header has whole seconds; compare it with the middle of the round trip.
  const localAhead = Math.round((sent + received) / 2 - serverTime);
  const abs = Math.abs(localAhead);
  const said = `this computer's clock is ${Math.round(abs / 1000)} s ${localAhead >= 0 ? 'ahead of' : 'behind'} the server`;
  if (abs >= SKEW_FAIL_MS) return { check: CHECK, subject, status: 'fail', message: `${reached}; ${said}`, advice: CLOCK_ADVICE };
  if (abs >= SKEW_WARN_MS) return { check: CHECK, subject, status: 'warn', message: `${reached}; ${said}`, advice: CLOCK_ADVICE };
  return { check: CHECK, subject, status: 'ok', message: `${reached}; clock within ${Math.max(1, Math.round(abs / 1000))} s` };
}

export const anafCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const profiles = (await (await storeOrNothing(ctx))?.listProfiles()) ?? [];
    const bases = new Set(profiles.map((p) => oauthEndpoints(p.env).issuer));
    if (!bases.size) bases.add(ANAF_OAUTH_BASE);
    const findings: Finding[] = [];
    for (const base of bases) findings.push(await probe(ctx, base));
    return findings;
  },
};
