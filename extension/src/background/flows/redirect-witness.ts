/**
 * The server redirects the browser followed in a tab's top frame, as webRequest reports them
 * (only for hosts this extension may access: ANAF's and the granted callback hosts). The callback
 * counts only if ANAF's origin redirected the flow's own tab to exactly that URL: a page that
 * sends its tab to the callback URL by script makes a plain navigation, which leaves no record.
 * Held in the worker's memory for a few seconds (the URL holds the code), never stored or logged.
 */

export interface Hop {
  tabId: number;
  frameId: number;
  /** Origin of the URL that answered with the redirect. */
  fromOrigin: string;
}

const KEEP_MS = 15_000;
const MAX_HOPS = 64;
/** How long a callback waits for its redirect to be reported (both events reach the worker within milliseconds). */
export const WITNESS_WAIT_MS = 3_000;

const hops = new Map<string, Hop & { at: number }>();
const waiting = new Set<() => void>();

function key(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

function prune(now: number): void {
  for (const [k, h] of hops) if (now - h.at > KEEP_MS || hops.size > MAX_HOPS) hops.delete(k);
}

/** webRequest.onBeforeRedirect for main frames. */
export function recordRedirect(d: { url: string; redirectUrl: string; tabId: number; frameId: number }): void {
  const k = key(d.redirectUrl);
  if (k === undefined || d.tabId < 0) return;
  let fromOrigin: string;
  try {
    fromOrigin = new URL(d.url).origin;
  } catch {
    return;
  }
  const now = Date.now();
  prune(now);
  hops.set(k, { tabId: d.tabId, frameId: d.frameId, fromOrigin, at: now });
  for (const wake of [...waiting]) wake();
}

/** Where the browser was last redirected to `url` (taken: one redirect proves one callback). */
export async function redirectedTo(url: string, timeoutMs = WITNESS_WAIT_MS): Promise<Hop | undefined> {
  const k = key(url);
  if (k === undefined) return undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hop = hops.get(k);
    if (hop && Date.now() - hop.at <= KEEP_MS) {
      hops.delete(k);
      return { tabId: hop.tabId, frameId: hop.frameId, fromOrigin: hop.fromOrigin };
    }
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await new Promise<void>((resolve) => {
      const wake = () => {
        waiting.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(wake, left);
      waiting.add(wake);
    });
  }
}
