/**
 * Which navigation to the extension's callback page may finish an obtain flow (finding 7): only
 * ANAF's redirect, in the top frame of the flow's own tab, through that tab's rule (its nonce),
 * with the flow's state. Everything else is refused, and says why without quoting the URL.
 */
import { describe, expect, it } from 'vitest';
import { digest, judgeCallback, type InterceptedNavigation, type RedirectWitness } from '../../extension/src/background/flows/callback-check.js';
import { recordRedirect, redirectedTo } from '../../extension/src/background/flows/redirect-witness.js';
import { callbackSubstitution } from '../../extension/src/shared/callback-url.js';
import type { Flow, Flows } from '../../extension/src/shared/flow-state.js';

const STATIC = 'chrome-extension://igbjmhbmmlfhbpngcanfobibgjmcfpnn';
const DYNAMIC = 'chrome-extension://0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const ORIGINS = [STATIC, DYNAMIC];
const REDIRECT_URI = 'https://erp.example.ro/anaf/callback';
const ANAF = 'https://logincert.anaf.ro';
const NONCE = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5';
const STATE = 'c3RhdGUtb2YtdGhpcy1mbG93LTAxMjM0NTY3ODlhYmNkZWY';
const TAB = 41;

async function flows(over: Partial<Flow> = {}): Promise<Flows> {
  const flow: Flow = {
    profile: 'firma',
    phase: 'waiting',
    startedAt: 1,
    tabId: TAB,
    ruleId: TAB,
    redirectUri: REDIRECT_URI,
    authorizeOrigin: ANAF,
    nonceHash: await digest(NONCE),
    stateHash: await digest(STATE),
    ...over,
  };
  return { firma: flow };
}

/** Where the rule sends ANAF's redirect (as Chrome would, from the substitution), then served from the static origin. */
function reached(query: string, nonce = NONCE, origin = STATIC): string {
  const target = callbackSubstitution(`${DYNAMIC}/callback.html`, nonce).replace('\\1', query);
  return target.replace(DYNAMIC, origin);
}

const top = (url: string): InterceptedNavigation => ({ url, mode: 'navigate', destination: 'document' });
/** ANAF redirected the flow's tab's top frame to exactly the callback URL. */
const anafRedirect: RedirectWitness = async () => ({ tabId: TAB, frameId: 0, fromOrigin: ANAF });
const query = `code=the-code&state=${STATE}`;

describe('judgeCallback', () => {
  it("accepts ANAF's answer: the rule's nonce, the top frame, ANAF's redirect in the flow tab, the flow's state", async () => {
    const seen: string[] = [];
    const witness: RedirectWitness = async (url) => {
      seen.push(url);
      return anafRedirect(url);
    };
    const v = await judgeCallback(top(reached(query)), await flows(), ORIGINS, witness);
    expect(v).toMatchObject({ accept: true, callbackUrl: `${REDIRECT_URI}?${query}` });
    // The redirect asked about is the exact callback URL the browser was sent to.
    expect(seen).toEqual([`${REDIRECT_URI}?${query}`]);
    // Reached at the per-session address as well.
    expect((await judgeCallback(top(reached(query, NONCE, DYNAMIC)), await flows(), ORIGINS, anafRedirect)).accept).toBe(true);
    // ANAF's error answers go to the host too (it tells access_denied apart).
    const denied = `error=access_denied&error_description=Not+enrolled&state=${STATE}`;
    expect(await judgeCallback(top(reached(denied)), await flows(), ORIGINS, anafRedirect)).toMatchObject({ accept: true });
  });

  it('refuses a navigation without the flow nonce, with another nonce, or to another page or extension', async () => {
    const f = await flows();
    for (const url of [
      `${STATIC}/callback.html?${query}`,
      reached(query, 'QW5vdGhlck5vbmNlQW5vdGhlck5vbmNlQW5vdGhlcg'),
      reached(query).replace('/callback.html', '/popup.html'),
      reached(query, NONCE, 'chrome-extension://abcdefghijklmnopabcdefghijklmnop'),
      reached(query, NONCE, 'https://erp.example.ro'),
    ]) {
      expect(await judgeCallback(top(url), f, ORIGINS, anafRedirect), url).toEqual({ accept: false, reason: 'no-flow' });
    }
  });

  it('refuses when no flow waits (done, failed, completing: an answer counts once)', async () => {
    for (const phase of ['completing', 'done', 'failed'] as const) {
      expect(await judgeCallback(top(reached(query)), await flows({ phase }), ORIGINS, anafRedirect)).toMatchObject({ accept: false, reason: 'no-flow' });
    }
  });

  it('refuses a frame (or any request that is not a top-level navigation), without ending the flow', async () => {
    for (const nav of [
      { url: reached(query), mode: 'navigate', destination: 'iframe' },
      { url: reached(query), mode: 'navigate', destination: 'frame' },
      { url: reached(query), mode: 'cors', destination: '' },
      { url: reached(query), mode: 'no-cors', destination: 'image' },
    ]) {
      expect(await judgeCallback(nav, await flows(), ORIGINS, anafRedirect)).toEqual({ accept: false, reason: 'not-top-frame' });
    }
  });

  it("refuses what ANAF did not redirect in the flow's tab: a page's script, another tab, a frame, another site", async () => {
    for (const witness of [
      async () => undefined,
      async () => ({ tabId: TAB + 1, frameId: 0, fromOrigin: ANAF }),
      async () => ({ tabId: TAB, frameId: 3, fromOrigin: ANAF }),
      async () => ({ tabId: TAB, frameId: 0, fromOrigin: 'https://erp.example.ro' }),
    ] satisfies RedirectWitness[]) {
      const v = await judgeCallback(top(reached(query)), await flows(), ORIGINS, witness);
      expect(v).toMatchObject({ accept: false, reason: 'not-redirected-in-flow-tab', flow: { profile: 'firma' } });
    }
  });

  it('refuses an answer without the state, with another state, or with two', async () => {
    const f = await flows();
    expect(await judgeCallback(top(reached('code=c')), f, ORIGINS, anafRedirect)).toMatchObject({ accept: false, reason: 'no-state' });
    for (const q of [`code=c&state=${STATE}x`, 'code=c&state=', `code=c&state=${STATE}&state=other`, `code=c&state=other&state=${STATE}`]) {
      expect(await judgeCallback(top(reached(q)), f, ORIGINS, anafRedirect), q).toMatchObject({ accept: false, reason: 'foreign-state' });
    }
  });

  it('never quotes the URL in a refusal', async () => {
    const v = await judgeCallback(top(reached('code=secret-code-123456')), await flows(), ORIGINS, anafRedirect);
    expect(JSON.stringify(v)).not.toContain('secret-code-123456');
  });
});

describe('redirect witness', () => {
  it('reports the tab, frame and origin of a redirect to exactly that URL, once', async () => {
    const to = `${REDIRECT_URI}?code=w1&state=s1`;
    recordRedirect({ url: `${ANAF}/anaf-oauth2/v1/authorize?state=s1`, redirectUrl: to, tabId: 7, frameId: 0 });
    expect(await redirectedTo(`${REDIRECT_URI}?code=w2&state=s1`, 0)).toBeUndefined();
    expect(await redirectedTo(to, 0)).toEqual({ tabId: 7, frameId: 0, fromOrigin: ANAF });
    expect(await redirectedTo(to, 0)).toBeUndefined();
  });

  it('waits for a redirect reported just after the callback arrives', async () => {
    const to = `${REDIRECT_URI}?code=w3&state=s3`;
    const asked = redirectedTo(to, 2_000);
    setTimeout(() => recordRedirect({ url: `${ANAF}/x`, redirectUrl: to, tabId: 8, frameId: 0 }), 20);
    expect(await asked).toEqual({ tabId: 8, frameId: 0, fromOrigin: ANAF });
    expect(await redirectedTo(`${REDIRECT_URI}?code=never`, 30)).toBeUndefined();
  });

  it('ignores redirects outside a tab (the worker, other extensions)', async () => {
    const to = `${REDIRECT_URI}?code=w4`;
    recordRedirect({ url: `${ANAF}/x`, redirectUrl: to, tabId: -1, frameId: 0 });
    expect(await redirectedTo(to, 0)).toBeUndefined();
  });
});
