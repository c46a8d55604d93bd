/**
 * request.html: the certificate holder's side of a request link. No native host and no profile
 * are needed here. The page reads the link from its fragment (then drops it from the address),
 * checks it, shows who asks, for which application, callback and ANAF server, until when, and
 * asks for consent. On "Authorize" it opens ANAF's authorize page in a new tab (the browser asks
 * for the certificate and PIN), catches ANAF's redirect with a session rule in that tab (it never
 * reaches the callback host), exchanges the code at ANAF's token endpoint at once (60 s), seals
 * the tokens to the requester's public key and shows the answer to send back. Everything lives
 * in this page's memory only: nothing is written to the extension's storage.
 */
import '../shared/zod-setup.js';
import '../shared/page.css';
import './request.css';
import QRCode from 'qrcode';
import { AppError } from '#shared/errors.js';
import { checkRequestLink, openSecret, sealAnswer, type CheckedRequest } from '#shared/request/crypto.js';
import { splitLink } from '#shared/request/format.js';
import { requestAuthorizeUrl } from '#shared/request/oauth.js';
import { toB64u, randomBytes } from '#shared/request/bytes.js';
import { flowOrigins, flowPermissions, rebuildCallbackUrl } from '../shared/callback-url.js';
import { exchangeCode } from './exchange.js';
import { HELD_PARAM, relayMessageSchema, requestCallbackRule, takeAnswerSchema, witnessAnswerSchema, type RelayMessage } from './protocol.js';
import { errorMessage, w, type Word } from './text.js';

const AUTH_TIMEOUT_MS = 5 * 60_000;
/** A QR code holds at most 2,953 bytes (version 40, level L); a bit less leaves room to scan it. */
const QR_MAX_CHARS = 2_800;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// The link is read once and dropped from the address bar. A link pasted into the popup comes from
// the worker's memory (a one-time ticket in the address), so it never reaches History.
const linkInAddress = location.hash;
const openedAt = Date.now();
const HISTORY = { permissions: ['history' as const] };
/** Whether the extension held the history permission before this page asked for it (then it keeps it). */
const historyHeld: Promise<boolean> = linkInAddress ? chrome.permissions.contains(HISTORY) : Promise.resolve(true);
const heldTicket = new URLSearchParams(location.search).get(HELD_PARAM);
if (location.hash || location.search) history.replaceState(null, '', location.pathname);

async function readLink(): Promise<string> {
  if (linkInAddress || heldTicket === null) return linkInAddress;
  const answer: unknown = await chrome.runtime.sendMessage({ type: 'anaf-request-take', ticket: heldTicket });
  const parsed = takeAnswerSchema.safeParse(answer);
  return parsed.success && parsed.data !== null ? parsed.data : '';
}

let request: CheckedRequest | undefined;

interface Run {
  nonce: string;
  tabId: number;
  authorizeOrigin: string;
  startedAt: number;
  secret: string;
  taken: boolean;
  timer: ReturnType<typeof setTimeout>;
}
let run: Run | undefined;

function showError(e: unknown): void {
  const err = AppError.from(e, 'INTERNAL', (x) => x.name);
  const box = $('error');
  box.textContent = errorMessage(err.code, err.detail);
  box.dataset.code = err.code;
  box.hidden = false;
}

function say(word: Word | undefined): void {
  const p = $('progress');
  p.hidden = word === undefined;
  p.textContent = word === undefined ? '' : w(word);
}

function fact(dl: HTMLElement, label: Word, value: string, testid: string): void {
  const dt = document.createElement('dt');
  dt.textContent = w(label);
  const dd = document.createElement('dd');
  dd.textContent = value;
  dd.dataset.testid = testid;
  dl.append(dt, dd);
}

function drawDetails(r: CheckedRequest): void {
  const { body } = r;
  $('intro').textContent = w('intro');
  const dl = $('facts');
  dl.replaceChildren();
  fact(dl, 'who', body.by ?? w('unnamed'), 'request-who');
  fact(dl, 'app', body.cid, 'request-client-id');
  fact(dl, 'callback', body.cb, 'request-callback');
  fact(dl, 'env', body.env === 'prod' || body.env === 'test' ? `ANAF (${body.env})` : body.env, 'request-env');
  fact(dl, 'expires', new Date(body.exp).toLocaleString(), 'request-expires');
  // The certificate is presented to this server: one that is not ANAF's is said plainly.
  if (body.env !== 'prod' && body.env !== 'test') {
    const warn = document.createElement('p');
    warn.className = 'banner error';
    warn.dataset.testid = 'request-not-anaf';
    warn.textContent = w('notAnaf');
    dl.after(warn);
  }
  if (linkInAddress) {
    $('history-text').textContent = w('inHistory');
    $('forget').textContent = w('forget');
    $('history-note').hidden = false;
  }
  $('passphrase-row').hidden = !r.needsPassphrase;
  $('passphrase-label').textContent = w('passphrase');
  $('approve').textContent = w('approve');
  $('decline').textContent = w('decline');
  $('details').hidden = false;
}

/**
 * A link opened directly (clicked in a mail) is in History with its key. On the holder's click,
 * the extension asks for the history permission, removes the rows that hold this link's key, and
 * gives the permission back: it never keeps the right to read History.
 */
async function forgetLink(): Promise<void> {
  const note = $('history-text');
  // Asked first, inside the click: Chrome grants a request only during the user's gesture.
  if (!(await chrome.permissions.request(HISTORY))) {
    note.textContent = w('notForgotten');
    return;
  }
  try {
    const key = splitLink(linkInAddress).key;
    const rows = await chrome.history.search({ text: '', startTime: openedAt - 60_000, maxResults: 10_000 });
    await Promise.all(rows.filter((r) => r.url?.includes(key)).map((r) => chrome.history.deleteUrl({ url: r.url! })));
    note.textContent = w('forgotten');
    $('forget').hidden = true;
  } finally {
    if (!(await historyHeld)) await chrome.permissions.remove(HISTORY).catch(() => undefined);
  }
}

async function removeRule(ruleId: number): Promise<void> {
  await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [ruleId] }).catch(() => undefined);
}

/** Ends the authorization: the tab, the rule, ANAF's redirect in the HTTP cache, the secret in memory. */
async function endRun(r: Run): Promise<void> {
  clearTimeout(r.timer);
  r.secret = '';
  if (run === r) run = undefined;
  chrome.tabs.onRemoved.removeListener(onTabRemoved);
  await removeRule(r.tabId);
  await chrome.tabs.remove(r.tabId).catch(() => undefined);
  try {
    if (await chrome.permissions.contains({ permissions: ['browsingData'] })) {
      await chrome.browsingData.removeCache({ since: Math.floor(r.startedAt / 1000) * 1000 - 1000, origins: [r.authorizeOrigin] });
    }
  } catch {
    console.warn("anaf-token: ANAF's redirect could not be removed from the browser's cache");
  }
}

function fail(r: Run | undefined, e: unknown): void {
  showError(e);
  say(undefined);
  if (r) void endRun(r);
  $<HTMLButtonElement>('approve').disabled = false;
}

function onTabRemoved(tabId: number): void {
  if (run && run.tabId === tabId && !run.taken) fail(run, new AppError('REQUEST_ANAF_REFUSED', w('tabClosed', 'en')));
}

async function approve(): Promise<void> {
  const r = request;
  if (!r || run) return;
  $('error').hidden = true;
  $<HTMLButtonElement>('approve').disabled = true;
  try {
    // The click's user gesture lets the browser ask for the callback host now.
    const wanted = flowPermissions(flowOrigins(r.body.cb, r.body.env));
    if (!(await chrome.permissions.contains(wanted)) && !(await chrome.permissions.request(wanted))) {
      throw new AppError('BAD_REQUEST', w('permission', 'en'));
    }
    if (Date.now() >= r.body.exp) throw new AppError('REQUEST_EXPIRED');
    const secret = await openSecret(r, $<HTMLInputElement>('passphrase').value || undefined);
    const tab = await chrome.tabs.create({ url: 'about:blank', active: true });
    if (tab.id === undefined) throw new AppError('INTERNAL', 'no tab id');
    const nonce = toB64u(randomBytes(32));
    const authorizeUrl = requestAuthorizeUrl(r.body);
    // Tab ids are unique in a browser session, like session rules (the obtain flow does the same).
    await chrome.declarativeNetRequest.updateSessionRules({
      removeRuleIds: [tab.id],
      addRules: [requestCallbackRule(tab.id, tab.id, r.body.cb, chrome.runtime.getURL('callback.html'), nonce)],
    });
    const started: Run = {
      nonce,
      tabId: tab.id,
      authorizeOrigin: new URL(authorizeUrl).origin,
      startedAt: Date.now(),
      secret,
      taken: false,
      timer: setTimeout(() => fail(run, new AppError('REQUEST_ANAF_REFUSED', w('timeout', 'en'))), AUTH_TIMEOUT_MS),
    };
    run = started;
    chrome.tabs.onRemoved.addListener(onTabRemoved);
    say('working');
    await chrome.tabs.update(tab.id, { url: authorizeUrl });
  } catch (e) {
    fail(run, e);
  }
}

async function witness(url: string): Promise<{ tabId: number; frameId: number; fromOrigin: string } | null> {
  const answer: unknown = await chrome.runtime.sendMessage({ type: 'anaf-request-witness', url });
  const parsed = witnessAnswerSchema.safeParse(answer);
  return parsed.success ? parsed.data : null;
}

async function onCallback(msg: RelayMessage): Promise<void> {
  const r = run;
  const req = request;
  if (!r || !req || msg.nonce !== r.nonce || r.taken) return;
  r.taken = true;
  await removeRule(r.tabId);
  try {
    const callbackUrl = rebuildCallbackUrl(req.body.cb, msg.query);
    // Only ANAF's own redirect in the authorization tab's top frame counts.
    const hop = msg.topFrame ? await witness(callbackUrl) : null;
    if (!hop || hop.tabId !== r.tabId || hop.frameId !== 0 || hop.fromOrigin !== r.authorizeOrigin) {
      throw new AppError('CALLBACK_INVALID', w('unexpected', 'en'));
    }
    const params = new URL(callbackUrl).searchParams;
    const states = params.getAll('state');
    if (states.length !== 1 || states[0] !== req.body.st) throw new AppError('STATE_MISMATCH');
    const error = params.get('error');
    if (error !== null) {
      const description = (params.get('error_description') ?? '').slice(0, 200);
      throw new AppError('REQUEST_ANAF_REFUSED', description ? `${error.slice(0, 64)}: ${description}` : error.slice(0, 64));
    }
    const code = params.get('code');
    if (!code) throw new AppError('CALLBACK_INVALID', 'no code');
    say('exchanging');
    const tokens = await exchangeCode(req.body, r.secret, code);
    const answer = await sealAnswer(req.body, states[0], tokens, Date.now());
    await endRun(r);
    showAnswer(req, answer);
  } catch (e) {
    fail(r, e);
  }
}

function showAnswer(req: CheckedRequest, answer: string): void {
  request = undefined;
  $('details').hidden = true;
  say(undefined);
  $('answer-intro').textContent = w('answerIntro');
  $<HTMLTextAreaElement>('answer').value = answer;
  const copy = $('copy');
  copy.textContent = w('copy');
  copy.onclick = () => {
    void navigator.clipboard.writeText(answer).then(() => (copy.textContent = w('copied')));
  };
  const save = $<HTMLAnchorElement>('save');
  save.textContent = w('save');
  save.href = URL.createObjectURL(new Blob([answer + '\n'], { type: 'text/plain' }));
  save.download = `anaf-token-answer-${req.body.id}.txt`;
  if (answer.length <= QR_MAX_CHARS) {
    const canvas = $<HTMLCanvasElement>('qr');
    void QRCode.toCanvas(canvas, answer, { errorCorrectionLevel: 'L', margin: 4, scale: 3 })
      .then(() => (canvas.hidden = false))
      .catch(() => undefined);
  } else {
    $('qr-note').textContent = w('qrTooLarge');
    $('qr-note').hidden = false;
  }
  $('answer-box').hidden = false;
}

function decline(): void {
  request = undefined;
  if (run) void endRun(run);
  $('details').hidden = true;
  say('declined');
}

chrome.runtime.onMessage.addListener((msg: unknown, _sender, reply: (answer: unknown) => void) => {
  const parsed = relayMessageSchema.safeParse(msg);
  if (!parsed.success || !run || parsed.data.nonce !== run.nonce) return false;
  reply(true);
  void onCallback(parsed.data);
  return false;
});
// Leaving the page ends a running authorization with it.
window.addEventListener('pagehide', () => {
  if (run) void endRun(run);
});

$('title').textContent = w('title');
document.documentElement.lang = navigator.language.startsWith('ro') ? 'ro' : 'en';
$('approve').addEventListener('click', () => void approve());
$('decline').addEventListener('click', decline);
$('forget').addEventListener('click', () => void forgetLink().catch((e: unknown) => showError(e)));

readLink()
  .then((link) => checkRequestLink(link, Date.now()))
  .then(
    (r) => {
      request = r;
      drawDetails(r);
    },
    (e: unknown) => showError(e),
  );
