/** The request page's words, in the UI language (its own, so the shared _locales stay as they are). */
import type { ErrorCode } from '#shared/errors.js';
import { messagesFor } from '#shared/errors.js';

export type Lang = 'ro' | 'en';

export function pageLang(): Lang {
  return chrome.i18n.getUILanguage().toLowerCase().startsWith('ro') ? 'ro' : 'en';
}

const WORDS = {
  title: { ro: 'Cerere de autorizare ANAF', en: 'ANAF authorization request' },
  intro: {
    ro: 'Cineva vă cere să autorizați cu certificatul dumneavoastră o aplicație pentru ANAF (e-Factura / e-Transport). Tokenul obținut îi va fi trimis doar lui, criptat.',
    en: 'Someone asks you to authorize an application for ANAF (e-Factura / e-Transport) with your certificate. The token obtained goes back only to them, encrypted.',
  },
  who: { ro: 'Cine cere', en: 'Who asks' },
  app: { ro: 'Aplicația (client ID)', en: 'Application (client ID)' },
  callback: { ro: 'Callback', en: 'Callback' },
  env: { ro: 'Server ANAF', en: 'ANAF server' },
  expires: { ro: 'Valabilă până la', en: 'Valid until' },
  unnamed: { ro: '(nespecificat)', en: '(not given)' },
  passphrase: { ro: 'Parola primită la telefon', en: 'Passphrase you were told by phone' },
  approve: { ro: 'Autorizez cu certificatul meu', en: 'Authorize with my certificate' },
  decline: { ro: 'Refuz', en: 'Decline' },
  declined: {
    ro: 'Ați refuzat cererea. Nu s-a trimis nimic. Puteți închide această pagină.',
    en: 'You declined the request. Nothing was sent. You may close this page.',
  },
  working: { ro: 'Alegeți certificatul și introduceți PIN-ul în fila deschisă…', en: 'Choose the certificate and type the PIN in the tab that opened…' },
  exchanging: { ro: 'Se obține tokenul de la ANAF…', en: 'Getting the token from ANAF…' },
  answerIntro: {
    ro: 'Gata. Trimiteți înapoi răspunsul de mai jos (text, fișier sau cod QR) celui care a cerut. Doar el îl poate deschide. Nimic din el nu rămâne în acest browser după ce închideți pagina.',
    en: 'Done. Send the answer below (text, file or QR code) back to whoever asked. Only they can open it. Nothing of it stays in this browser once you close this page.',
  },
  copy: { ro: 'Copiază', en: 'Copy' },
  copied: { ro: 'Copiat', en: 'Copied' },
  save: { ro: 'Salvează ca fișier', en: 'Save as a file' },
  qrTooLarge: {
    ro: 'Răspunsul este prea mare pentru un cod QR: trimiteți textul sau fișierul.',
    en: 'The answer is too large for a QR code: send the text or the file.',
  },
  tabClosed: { ro: 'Fila de autorizare a fost închisă înainte de răspunsul ANAF.', en: 'The authorization tab was closed before ANAF answered.' },
  timeout: { ro: 'ANAF nu a răspuns în 5 minute.', en: 'ANAF did not answer within 5 minutes.' },
  unexpected: {
    ro: 'Răspunsul primit nu vine de la autorizarea ANAF pornită aici: a fost refuzat.',
    en: 'The answer did not come from the ANAF authorization started here: refused.',
  },
  notAnaf: {
    ro: 'Atenție: acest server NU este al ANAF (logincert.anaf.ro). Continuați doar dacă știți de ce (de exemplu un mediu de test).',
    en: "Warning: this server is NOT ANAF's (logincert.anaf.ro). Go on only if you know why (a test environment, say).",
  },
  inHistory: {
    ro: 'Linkul a fost deschis direct, așa că a rămas în Istoricul browserului, cu cheia lui. Ștergeți-l de acolo (Chrome vă cere o dată permisiunea, apoi extensia renunță la ea).',
    en: "The link was opened directly, so it stays in the browser's History, with its key. Remove it from there (Chrome asks once for the permission, then the extension gives it up).",
  },
  forget: { ro: 'Șterge linkul din Istoric', en: 'Remove the link from History' },
  forgotten: { ro: 'Linkul a fost șters din Istoric.', en: 'The link was removed from History.' },
  notForgotten: {
    ro: 'Fără permisiune linkul rămâne în Istoric; îl puteți șterge și din Istoric (Ctrl+H).',
    en: 'Without the permission the link stays in History; you can also remove it there (Ctrl+H).',
  },
  pastePlaceholder: { ro: 'Lipiți aici un link de cerere sau un răspuns primit', en: 'Paste a request link or an answer you received' },
  pasteOpen: { ro: 'Deschide', en: 'Open' },
  permission: {
    ro: 'Fără permisiunea cerută pentru callback, extensia nu poate opri codul înainte să plece din browser.',
    en: 'Without the permission asked for the callback, the extension cannot keep the code inside the browser.',
  },
} as const;

export type Word = keyof typeof WORDS;

export function w(key: Word, lang: Lang = pageLang()): string {
  return WORDS[key][lang];
}

export function errorMessage(code: ErrorCode, detail: string | undefined, lang: Lang = pageLang()): string {
  const text = messagesFor(code)[lang];
  return detail ? `${text} (${detail})` : text;
}
