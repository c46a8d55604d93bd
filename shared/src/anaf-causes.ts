/**
 * ANAF's error answers mapped to their known causes, from the field: what users and the
 * vendor guides found behind "access denied", a redirect mismatch, invalid_client and
 * invalid_grant. Used by `doctor` and by the CLI when an authorization fails.
 */
import type { Bilingual, ErrorCode } from './errors.js';

const CAUSE = {
  notEnrolled: {
    en: 'The certificate is not enrolled in SPV (Spațiul Privat Virtual) for a valid CIF: enroll it at anaf.ro (SPV, persoane juridice / fizice) and wait for the confirmation.',
    ro: 'Certificatul nu este înrolat în SPV (Spațiul Privat Virtual) pentru un CIF valid: înrolați-l pe anaf.ro (SPV, persoane juridice / fizice) și așteptați confirmarea.',
  },
  wrongCertificate: {
    en: "The wrong certificate was picked in the browser (another person's, an expired one, or one that is not the qualified signature certificate): start again and pick the qualified certificate from the USB key.",
    ro: 'A fost ales alt certificat în browser (al altei persoane, unul expirat sau unul care nu este certificatul calificat de semnătură): reluați și alegeți certificatul calificat de pe cheia USB.',
  },
  driverMissing: {
    en: "The USB key's driver (PKCS#11 module / middleware from the certificate provider) is missing or not loaded by the browser, so no certificate was offered: install it and restart the browser.",
    ro: 'Lipsește driverul cheii USB (modulul PKCS#11 / middleware-ul furnizorului de certificat) sau browserul nu îl încarcă, deci nu a fost oferit niciun certificat: instalați-l și reporniți browserul.',
  },
  remoteDesktop: {
    en: 'Over Remote Desktop the USB key stays on the local computer unless smart-card redirection is on: enable "Smart cards" under Local Resources in the Remote Desktop client, or authorize on the computer that has the key.',
    ro: 'Prin Remote Desktop cheia USB rămâne pe calculatorul local dacă redirecționarea smart card este oprită: bifați "Smart cards" la Local Resources în clientul Remote Desktop sau autorizați pe calculatorul cu cheia.',
  },
  redirectMismatch: {
    en: "The callback URL of the profile differs from the one registered for the application in ANAF's portal (scheme, host, port, path and trailing slash must be identical): copy it exactly into one of them.",
    ro: 'Adresa de callback a profilului diferă de cea înregistrată pentru aplicație în portalul ANAF (schema, domeniul, portul, calea și bara finală trebuie să fie identice): copiați-o exact într-unul din locuri.',
  },
  badClientCredentials: {
    en: 'The client id or client secret is wrong, or the application was deleted or its secret regenerated in ANAF\'s portal: copy both again (after "Generare Client ID" the portal shows them only after a page refresh).',
    ro: 'Client id sau client secret este greșit, ori aplicația a fost ștearsă sau secretul regenerat în portalul ANAF: copiați-le din nou (după "Generare Client ID" portalul le arată abia după reîncărcarea paginii).',
  },
  codeStale: {
    en: 'The code is valid 60 seconds after the login and works once: start again (the extension or "authorize --listen" exchange it at once).',
    ro: 'Codul este valabil 60 de secunde după autentificare și merge o singură dată: porniți din nou (extensia sau „authorize --listen” îl schimbă imediat).',
  },
  codeOtherCallback: {
    en: "The code was issued for another callback URL or another application than the profile's.",
    ro: 'Codul a fost emis pentru altă adresă de callback sau altă aplicație decât ale profilului.',
  },
  refreshExpired: {
    en: 'The refresh token reached its end (about 365 days after the authorization with the USB key): authorize again with the key.',
    ro: 'Tokenul de reîmprospătare a ajuns la capăt (cam 365 de zile de la autorizarea cu cheia USB): autorizați din nou cu cheia.',
  },
  refreshRevoked: {
    en: "The tokens were revoked (here, in ANAF's portal, or by a new authorization elsewhere): authorize again with the USB key.",
    ro: 'Tokenurile au fost revocate (aici, în portalul ANAF sau de o nouă autorizare în altă parte): autorizați din nou cu cheia USB.',
  },
  refreshUsedElsewhere: {
    en: "Another program refreshed with the same refresh token (for example the ERP's own ANAF module, or a copy of this vault on another computer). ANAF rotates it on every refresh, so only one program may refresh: let only anaf-token refresh, and authorize again.",
    ro: 'Alt program a reîmprospătat cu același token de reîmprospătare (de exemplu modulul ANAF al ERP-ului sau o copie a acestui seif pe alt calculator). ANAF îl schimbă la fiecare reîmprospătare, deci doar un program poate reîmprospăta: lăsați doar anaf-token să o facă și autorizați din nou.',
  },
  network: {
    en: 'The network, a proxy or a firewall blocks the connection to ANAF, or ANAF is down for maintenance: check the connection (and the proxy settings) and try later.',
    ro: 'Rețeaua, un proxy sau un firewall blochează conexiunea la ANAF, ori ANAF este în mentenanță: verificați conexiunea (și setările de proxy) și încercați mai târziu.',
  },
  interceptingProxy: {
    en: 'A proxy, captive portal or antivirus answered instead of ANAF (an HTML page instead of JSON): allow logincert.anaf.ro and api.anaf.ro through it without TLS inspection.',
    ro: 'Un proxy, un portal captiv sau un antivirus a răspuns în locul ANAF (o pagină HTML în loc de JSON): permiteți logincert.anaf.ro și api.anaf.ro fără inspecție TLS.',
  },
  stateLost: {
    en: 'The authorization was started elsewhere, started twice, or took longer than 10 minutes: start it again and finish it in the same place.',
    ro: 'Autorizarea a fost pornită în altă parte, pornită de două ori sau a durat peste 10 minute: porniți-o din nou și finalizați-o în același loc.',
  },
} satisfies Record<string, Bilingual>;

export const ANAF_CAUSES: Readonly<Record<keyof typeof CAUSE, Bilingual>> = CAUSE;

/** ANAF's own OAuth error names, as they appear in a callback or a token answer. */
const OAUTH_ERROR_TO_CODE: Record<string, ErrorCode> = {
  access_denied: 'ACCESS_DENIED',
  invalid_client: 'INVALID_CLIENT',
  unauthorized_client: 'INVALID_CLIENT',
  invalid_grant: 'INVALID_GRANT',
  redirect_uri_mismatch: 'AUTHORIZATION_FAILED',
};

const REDIRECT_RE = /redirect[_ -]?ur[il]|callback/i;

/**
 * Known causes of an error, most likely first. `code` is one of our error codes or ANAF's
 * OAuth error name; `detail` is the error's detail (it tells, for instance, a redirect mismatch
 * from another refused authorization). Unknown errors have no listed causes.
 */
export function explainAnafError(code: string, detail?: string): Bilingual[] {
  const c = OAUTH_ERROR_TO_CODE[code] ?? code;
  const d = detail ?? '';
  switch (c) {
    case 'ACCESS_DENIED':
      return [CAUSE.notEnrolled, CAUSE.wrongCertificate, CAUSE.driverMissing, CAUSE.remoteDesktop];
    case 'AUTHORIZATION_FAILED':
      return REDIRECT_RE.test(d) || code === 'redirect_uri_mismatch'
        ? [CAUSE.redirectMismatch]
        : [CAUSE.redirectMismatch, CAUSE.badClientCredentials, CAUSE.notEnrolled];
    case 'INVALID_CLIENT':
      return [CAUSE.badClientCredentials];
    case 'INVALID_GRANT':
      // ANAF answers a stale code with invalid_request: that is no setup error.
      return REDIRECT_RE.test(d) ? [CAUSE.codeOtherCallback, CAUSE.redirectMismatch] : [CAUSE.codeStale];
    case 'TOKEN_DEAD':
      // ANAF says "Refresh Token status is expired" for every dead grant, used or revoked too.
      if (/ANAF answered/i.test(d)) return [CAUSE.refreshExpired, CAUSE.refreshUsedElsewhere, CAUSE.refreshRevoked];
      if (/expired/i.test(d)) return [CAUSE.refreshExpired];
      if (/revoked/i.test(d)) return [CAUSE.refreshRevoked, CAUSE.refreshUsedElsewhere];
      if (/already used/i.test(d)) return [CAUSE.refreshUsedElsewhere, CAUSE.refreshRevoked];
      return [CAUSE.refreshExpired, CAUSE.refreshUsedElsewhere, CAUSE.refreshRevoked];
    case 'ANAF_UNAVAILABLE':
    case 'TOKEN_EXPIRED':
      return [CAUSE.network];
    case 'ANAF_BAD_RESPONSE':
      return [CAUSE.interceptingProxy, CAUSE.network];
    case 'STATE_MISMATCH':
      return [CAUSE.stateLost];
    default:
      return [];
  }
}

/** The causes as lines for a terminal, Romanian then English. */
export function formatCauses(causes: Bilingual[]): string {
  if (!causes.length) return '';
  const ro = causes.map((c, i) => `  ${i + 1}. ${c.ro}`).join('\n');
  const en = causes.map((c, i) => `  ${i + 1}. ${c.en}`).join('\n');
  return `Cauze posibile:\n${ro}\nPossible causes:\n${en}\n`;
}
