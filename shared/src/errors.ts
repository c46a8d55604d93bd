/**
 * Every failure the user can meet, with a stable code, a CLI exit code and a message in
 * Romanian and English that says what to do. Both the native host and the extension render
 * errors from this table, so a code means the same thing everywhere.
 */

export interface Bilingual {
  ro: string;
  en: string;
}

/** The serialized form of an AppError (schemas/error-payload.ts validates it at every boundary). */
export interface ErrorPayload {
  code: ErrorCode;
  message: Bilingual;
  /** Extra facts safe to show (never tokens or secrets), e.g. ANAF's error code. */
  detail?: string | undefined;
}

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  /** Needs a new authorization with the USB key (no token, dead or expired refresh token). */
  needsAuthorization: 4,
  /** ANAF or the network failed; trying again later may work. */
  transient: 5,
  /** ANAF refused the request (wrong secret, access denied, bad code). */
  rejected: 6,
  vault: 7,
  forbidden: 8,
  /** A folder we would read or write could be changed by another user: refused, nothing done in it. */
  unsafeFolder: 9,
} as const;

type Catalogue = Record<string, { exit: number; en: string; ro: string }>;

const catalogue = {
  INTERNAL: {
    exit: EXIT.internal,
    en: 'Unexpected error. Run the command again; if it persists, report it with the log file.',
    ro: 'Eroare neașteptată. Rulați din nou comanda; dacă persistă, raportați-o împreună cu fișierul jurnal.',
  },
  BAD_REQUEST: {
    exit: EXIT.usage,
    en: 'The request is not valid.',
    ro: 'Cererea nu este validă.',
  },
  MESSAGE_TOO_LARGE: {
    exit: EXIT.usage,
    en: 'The message is larger than the native messaging limit.',
    ro: 'Mesajul depășește limita permisă de native messaging.',
  },
  ORIGIN_NOT_ALLOWED: {
    exit: EXIT.forbidden,
    en: 'This browser extension is not allowed to use the token host. Run "anaf-token install --extension-id <ID>" for it.',
    ro: 'Această extensie de browser nu are voie să folosească gazda de tokenuri. Rulați "anaf-token install --extension-id <ID>" pentru ea.',
  },
  PROFILE_NOT_FOUND: {
    exit: EXIT.notFound,
    en: 'No profile with this name. See "anaf-token profile list".',
    ro: 'Nu există un profil cu acest nume. Vedeți "anaf-token profile list".',
  },
  PROFILE_EXISTS: {
    exit: EXIT.usage,
    en: 'A profile with this name already exists. Remove it first or choose another name.',
    ro: 'Există deja un profil cu acest nume. Ștergeți-l întâi sau alegeți alt nume.',
  },
  PROFILE_INVALID: {
    exit: EXIT.usage,
    en: 'The profile settings are not valid.',
    ro: 'Setările profilului nu sunt valide.',
  },
  SECRET_MISSING: {
    exit: EXIT.usage,
    en: "The client secret is missing: a new profile, or a change of its server address, client ID or callback URL, needs it. Give it on standard input or at the prompt (in the extension: the client secret field); copy it from the application in ANAF's portal.",
    ro: 'Lipsește client secret: un profil nou, sau schimbarea adresei serverului, a client ID sau a adresei de callback, îl cere. Introduceți-l la intrarea standard sau la prompt (în extensie: câmpul client secret); copiați-l din aplicația din portalul ANAF.',
  },
  NO_TOKEN: {
    exit: EXIT.needsAuthorization,
    en: 'This profile has no token yet. Obtain one with the USB key: "anaf-token authorize --profile <name>" or the browser extension.',
    ro: 'Acest profil nu are încă token. Obțineți unul cu cheia USB: "anaf-token authorize --profile <nume>" sau extensia de browser.',
  },
  TOKEN_DEAD: {
    exit: EXIT.needsAuthorization,
    en: 'The refresh token is no longer accepted by ANAF (expired, revoked or already used). Authorize again with the USB key.',
    ro: 'Tokenul de reîmprospătare nu mai este acceptat de ANAF (expirat, revocat sau deja folosit). Autorizați din nou cu cheia USB.',
  },
  TOKEN_EXPIRED: {
    exit: EXIT.transient,
    en: 'The access token has expired and could not be refreshed now. Check the connection to ANAF and try again.',
    ro: 'Tokenul de acces a expirat și nu a putut fi reîmprospătat acum. Verificați conexiunea la ANAF și încercați din nou.',
  },
  STATE_MISMATCH: {
    exit: EXIT.rejected,
    en: 'The answer from ANAF does not belong to an authorization started here (state does not match or has expired). Start the authorization again.',
    ro: 'Răspunsul ANAF nu aparține unei autorizări pornite aici (state nu corespunde sau a expirat). Porniți din nou autorizarea.',
  },
  CALLBACK_INVALID: {
    exit: EXIT.usage,
    en: "The callback address is not valid. A profile's callback must be the https:// address registered for the application in ANAF's portal (ANAF refuses http://); a pasted address must be the full address the browser was sent to, with its code.",
    ro: 'Adresa de callback nu este validă. Callback-ul unui profil trebuie să fie adresa https:// înregistrată pentru aplicație în portalul ANAF (ANAF refuză http://); o adresă lipită trebuie să fie adresa completă la care a fost trimis browserul, cu codul ei.',
  },
  CALLBACK_TIMEOUT: {
    exit: EXIT.transient,
    en: 'No answer from the browser within the wait limit: nothing was changed. Start "anaf-token authorize --listen" again and log in with the USB key.',
    ro: 'Niciun răspuns de la browser în timpul de așteptare: nu s-a schimbat nimic. Porniți din nou "anaf-token authorize --listen" și autentificați-vă cu cheia USB.',
  },
  CALLBACK_LISTEN_FAILED: {
    exit: EXIT.internal,
    en: 'Could not listen for the browser on the callback port (another program may use it; ports below 1024 need administrator rights). Stop that program, or register a callback URL with another port.',
    ro: 'Nu se poate asculta pe portul adresei de callback (poate îl folosește alt program; porturile sub 1024 cer drepturi de administrator). Opriți acel program sau înregistrați o adresă de callback cu alt port.',
  },
  ACCESS_DENIED: {
    exit: EXIT.rejected,
    en: 'ANAF denied access. Usually: the certificate picked is not the one enrolled in SPV for a valid CIF, the USB key driver is missing, or the callback URL differs from the one registered. Pick the qualified signature certificate enrolled in SPV and try again.',
    ro: 'ANAF a refuzat accesul. De obicei: certificatul ales nu este cel înrolat în SPV pentru un CIF valid, lipsește driverul cheii USB sau adresa de callback diferă de cea înregistrată. Alegeți certificatul calificat înrolat în SPV și încercați din nou.',
  },
  AUTHORIZATION_FAILED: {
    exit: EXIT.rejected,
    en: 'ANAF refused the authorization request.',
    ro: 'ANAF a refuzat cererea de autorizare.',
  },
  INVALID_CLIENT: {
    exit: EXIT.rejected,
    en: "ANAF does not accept the client id or client secret. Copy both again from the application in ANAF's portal and update the profile.",
    ro: 'ANAF nu acceptă client id sau client secret. Copiați-le din nou din aplicația din portalul ANAF și actualizați profilul.',
  },
  INVALID_GRANT: {
    exit: EXIT.rejected,
    en: 'ANAF refused the authorization code: it is valid 60 seconds after the login and works once. Start the authorization again and let it finish at once.',
    ro: 'ANAF a refuzat codul de autorizare: este valabil 60 de secunde după autentificare și merge o singură dată. Porniți din nou autorizarea și lăsați-o să se termine imediat.',
  },
  TOKEN_NOT_AUTHORIZED: {
    exit: EXIT.rejected,
    en: 'ANAF does not accept the stored access token (TestOauth hello answered 401/403). Refresh it ("anaf-token refresh --profile <name>", or "Refresh now" in the extension); if that fails, authorize again with the USB key. A certificate enrolled in SPV recently gets its rights about 24 hours later. Which CIFs the token may use for e-Factura is decided by SPV, and this check cannot see it.',
    ro: 'ANAF nu acceptă tokenul de acces salvat (TestOauth hello a răspuns 401/403). Reîmprospătați-l ("anaf-token refresh --profile <nume>" sau "Reîmprospătează" în extensie); dacă nu merge, autorizați din nou cu cheia USB. Un certificat înrolat de curând în SPV primește drepturile după aproximativ 24 de ore. Pentru ce CIF-uri poate fi folosit tokenul în e-Factura hotărăște SPV, iar această verificare nu poate vedea asta.',
  },
  ANAF_UNAVAILABLE: {
    exit: EXIT.transient,
    en: 'ANAF could not be reached or answered with an error. The stored token was kept; try again later.',
    ro: 'ANAF nu a putut fi contactat sau a răspuns cu o eroare. Tokenul salvat a fost păstrat; încercați din nou mai târziu.',
  },
  ANAF_BAD_RESPONSE: {
    exit: EXIT.transient,
    en: 'ANAF sent an answer that could not be understood. The stored token was kept; try again later.',
    ro: 'ANAF a trimis un răspuns care nu a putut fi înțeles. Tokenul salvat a fost păstrat; încercați din nou mai târziu.',
  },
  REFRESH_BUSY: {
    exit: EXIT.transient,
    en: 'Another process is refreshing this token and did not finish in time. Try again in a minute.',
    ro: 'Alt proces reîmprospătează acest token și nu a terminat la timp. Încercați din nou peste un minut.',
  },
  VAULT_LOCKED: {
    exit: EXIT.vault,
    en: 'The token vault cannot be opened with the stored key (key missing or changed). Restore the key file, or remove the vault and authorize again.',
    ro: 'Seiful de tokenuri nu poate fi deschis cu cheia salvată (cheie lipsă sau schimbată). Restaurați fișierul cheie sau ștergeți seiful și autorizați din nou.',
  },
  PROFILE_ALTERED: {
    exit: EXIT.vault,
    en: 'This profile was changed outside anaf-token (its server address, client ID or callback URL in the vault no longer match what its client secret and tokens were saved with), so they were not opened and nothing was sent to ANAF. Check the profile and save it again with its client secret (extension: Settings; command line: "anaf-token profile remove", then "anaf-token profile add"), then authorize again with the USB key.',
    ro: 'Acest profil a fost modificat în afara anaf-token (adresa serverului, client ID sau adresa de callback din seif nu mai corespund celor cu care au fost salvate client secret și tokenurile), așa că nu au fost deschise și nu s-a trimis nimic la ANAF. Verificați profilul și salvați-l din nou cu client secret (extensia: Setări; linia de comandă: "anaf-token profile remove", apoi "anaf-token profile add"), apoi autorizați din nou cu cheia USB.',
  },
  VAULT_ROLLED_BACK: {
    exit: EXIT.vault,
    en: 'The token vault file is an older copy, from before the vault was upgraded, put back in place of the current one (from a backup, or by another program). Whoever put it there could have changed its profiles, so it is not upgraded again and nothing in it is used. Put the current vault file back. If you no longer have it, move this one away and set the profiles up again ("anaf-token profile add", then authorize with the USB key).',
    ro: 'Fișierul seifului de tokenuri este o copie mai veche, de dinaintea actualizării seifului, pusă în locul celui curent (dintr-o copie de siguranță sau de alt program). Cine a pus-o acolo putea modifica profilurile din ea, așa că nu este actualizată din nou și nu se folosește nimic din ea. Puneți la loc fișierul curent al seifului. Dacă nu îl mai aveți, mutați-l pe acesta deoparte și configurați din nou profilurile ("anaf-token profile add", apoi autorizați cu cheia USB).',
  },
  VAULT_ERROR: {
    exit: EXIT.vault,
    en: 'The token vault could not be read or written. Check the permissions of the data folder.',
    ro: 'Seiful de tokenuri nu a putut fi citit sau scris. Verificați permisiunile dosarului de date.',
  },
  UNSAFE_FOLDER: {
    exit: EXIT.unsafeFolder,
    en: 'A folder anaf-token would use could be changed by another user of this computer (it belongs to someone else, others may write in it or in a folder above it, or it is a symbolic link), so nothing was read or written there. The detail names the folder. Make it yours and private ("chmod 700 <folder>"; "chmod go-w" on a folder above it, or move the data with ANAF_TOKEN_HOME), check that nothing in it was changed by someone else, and try again.',
    ro: 'Un dosar pe care anaf-token l-ar folosi poate fi schimbat de alt utilizator al acestui calculator (aparține altcuiva, alții pot scrie în el sau într-un dosar de deasupra, ori este o legătură simbolică), așa că nu s-a citit și nu s-a scris nimic acolo. Detaliul numește dosarul. Faceți-l al dumneavoastră și privat ("chmod 700 <dosar>"; "chmod go-w" pe un dosar de deasupra, sau mutați datele cu ANAF_TOKEN_HOME), verificați că nimic din el nu a fost schimbat de altcineva și încercați din nou.',
  },
  INSTALL_FAILED: {
    exit: EXIT.internal,
    en: 'The native messaging host could not be registered for the browser.',
    ro: 'Gazda native messaging nu a putut fi înregistrată pentru browser.',
  },
  // ---- the ERP token service (`serve`, `clients`, `service`) and `doctor` ------------------
  API_KEY_INVALID: {
    exit: EXIT.forbidden,
    en: 'No valid proof of a client key: no Authorization, an unknown client, a nonce this service does not hold (expired, or from before it restarted), or a wrong key. Fetch a new nonce from GET /v1/challenge and send "Authorization: AnafToken client=..., nonce=..., proof=..." made with the key from "anaf-token clients add <name>" (docs/erp-api.md).',
    ro: 'Nu există o dovadă validă a cheii de client: lipsește Authorization, clientul este necunoscut, nonce-ul nu este ținut de serviciu (expirat sau de dinainte de repornire) ori cheia este greșită. Cereți un nonce nou de la GET /v1/challenge și trimiteți "Authorization: AnafToken client=..., nonce=..., proof=..." calculat cu cheia dată de "anaf-token clients add <nume>" (docs/erp-api.md).',
  },
  API_BEARER_REFUSED: {
    exit: EXIT.forbidden,
    en: 'The token service no longer takes the client key itself ("Authorization: Bearer <key>"): a program of another user listening on the port in its place would receive it. Fetch a nonce from GET /v1/challenge and send "Authorization: AnafToken client=\"<name>\", nonce=\"<nonce>\", proof=\"<HMAC-SHA256 with the key>\"" (docs/erp-api.md).',
    ro: 'Serviciul de tokenuri nu mai primește cheia de client însăși ("Authorization: Bearer <cheie>"): un program al altui utilizator care ascultă pe port în locul lui ar primi-o. Cereți un nonce de la GET /v1/challenge și trimiteți "Authorization: AnafToken client=\"<nume>\", nonce=\"<nonce>\", proof=\"<HMAC-SHA256 cu cheia>\"" (docs/erp-api.md).',
  },
  API_CLIENT_KEY_OLD: {
    exit: EXIT.forbidden,
    en: 'This client\'s key was made by an older version, which kept only its hash; the token service now needs the key itself, sealed in the vault. Run "anaf-token clients add <name>" again and put the new key in the program\'s settings.',
    ro: 'Cheia acestui client a fost creată de o versiune mai veche, care păstra doar amprenta ei; serviciul de tokenuri are nevoie acum de cheia însăși, sigilată în seif. Rulați din nou "anaf-token clients add <nume>" și puneți cheia nouă în setările programului.',
  },
  API_PROFILE_NOT_ALLOWED: {
    exit: EXIT.forbidden,
    en: 'This client key may not get tokens of this profile: it was made for other profiles only. Use a key made for it ("anaf-token clients add <name> --profiles <profile,...>"), or ask who manages the token service.',
    ro: 'Această cheie de client nu poate primi tokenurile acestui profil: a fost creată doar pentru alte profiluri. Folosiți o cheie creată pentru el ("anaf-token clients add <nume> --profiles <profil,...>") sau întrebați cine administrează serviciul de tokenuri.',
  },
  HOST_NOT_ALLOWED: {
    exit: EXIT.forbidden,
    en: "The request was not addressed to this computer's loopback address and port. Call http://127.0.0.1:<port>/ directly, not through another name or a proxy.",
    ro: 'Cererea nu a fost adresată adresei locale (loopback) și portului acestui calculator. Apelați direct http://127.0.0.1:<port>/, nu prin alt nume sau printr-un proxy.',
  },
  WEB_ORIGIN_REFUSED: {
    exit: EXIT.forbidden,
    en: 'Web pages may not use the token service (the request carries an Origin, Sec-Fetch-* or Referer header, which browsers send). Call it from the program (ERP), not from a browser.',
    ro: 'Paginile web nu pot folosi serviciul de tokenuri (cererea are antetul Origin, Sec-Fetch-* sau Referer, pe care le trimit browserele). Apelați-l din program (ERP), nu din browser.',
  },
  API_ROUTE_NOT_FOUND: {
    exit: EXIT.usage,
    en: 'The token service has no such address. See docs/erp-api.md for the API.',
    ro: 'Serviciul de tokenuri nu are această adresă. Vedeți docs/erp-api.md pentru API.',
  },
  CLIENT_EXISTS: {
    exit: EXIT.usage,
    en: 'A client with this name already exists. Remove it first ("anaf-token clients remove <name>") or choose another name.',
    ro: 'Există deja un client cu acest nume. Ștergeți-l întâi ("anaf-token clients remove <nume>") sau alegeți alt nume.',
  },
  CLIENT_NOT_FOUND: {
    exit: EXIT.notFound,
    en: 'No client with this name. See "anaf-token clients list".',
    ro: 'Nu există un client cu acest nume. Vedeți "anaf-token clients list".',
  },
  SERVE_LISTEN_FAILED: {
    exit: EXIT.internal,
    en: 'The token service could not listen on its port on 127.0.0.1 and ::1: another program holds it (the detail says whose, where the system tells). It does not start on one address alone, so that no program of another user answers the ERP in its place. Stop that program, or give this user a port of its own with --port (and "anaf-token service install --port N").',
    ro: 'Serviciul de tokenuri nu poate asculta pe portul său pe 127.0.0.1 și ::1: îl ține alt program (detaliul spune al cui, unde sistemul o arată). Nu pornește doar pe una dintre adrese, ca niciun program al altui utilizator să nu răspundă ERP-ului în locul lui. Opriți acel program sau dați acestui utilizator un port propriu cu --port (și "anaf-token service install --port N").',
  },
  SERVICE_FAILED: {
    exit: EXIT.internal,
    en: 'The token service could not be registered or removed as a login service. The detail says which step failed.',
    ro: 'Serviciul de tokenuri nu a putut fi înregistrat sau șters ca serviciu la autentificare. Detaliul arată pasul care a eșuat.',
  },
  CHECKS_FAILED: {
    exit: EXIT.internal,
    en: 'At least one check failed. Follow the advice printed beside it, then run "anaf-token doctor" again.',
    ro: 'Cel puțin o verificare a eșuat. Urmați sfatul afișat lângă ea, apoi rulați din nou "anaf-token doctor".',
  },
  PKCS11_MODULE_NOT_FOUND: {
    exit: EXIT.notFound,
    en: "No PKCS#11 driver for the USB token was found. Install the token's software from your certificate provider (certSIGN, DigiSign, Trans Sped, AlfaTrust...), or give its path with --module.",
    ro: 'Nu s-a găsit niciun driver PKCS#11 pentru cheia USB. Instalați programul cheii de la furnizorul certificatului (certSIGN, DigiSign, Trans Sped, AlfaTrust...) sau dați calea lui cu --module.',
  },
  PKCS11_MODULE_NOT_ALLOWED: {
    exit: EXIT.forbidden,
    en: 'The browser asked for a PKCS#11 driver that is neither a known one nor one you configured, so it was not loaded. If you trust it, add its full path with "anaf-token modules --add <path>".',
    ro: 'Browserul a cerut un driver PKCS#11 care nu este nici unul cunoscut, nici unul configurat de dumneavoastră, așa că nu a fost încărcat. Dacă aveți încredere în el, adăugați calea lui completă cu "anaf-token modules --add <cale>".',
  },
  PKCS11_LOAD_FAILED: {
    exit: EXIT.internal,
    en: 'The PKCS#11 driver could not be loaded. Reinstall the USB token software (the 64-bit version on 64-bit systems).',
    ro: 'Driverul PKCS#11 nu a putut fi încărcat. Reinstalați programul cheii USB (versiunea pe 64 de biți pe sistemele pe 64 de biți).',
  },
  PKCS11_TIMEOUT: {
    exit: EXIT.transient,
    en: 'The USB token driver did not answer in time. Unplug the token, plug it back in, and try again.',
    ro: 'Driverul cheii USB nu a răspuns la timp. Scoateți cheia, introduceți-o din nou și încercați iar.',
  },
  PKCS11_CRASHED: {
    exit: EXIT.internal,
    en: 'The USB token driver stopped unexpectedly. Update the token software from your certificate provider.',
    ro: 'Driverul cheii USB s-a oprit neașteptat. Actualizați programul cheii de la furnizorul certificatului.',
  },
  PKCS11_TOKEN_REMOVED: {
    exit: EXIT.transient,
    en: 'The USB token was removed while it was being read. Plug it in and try again.',
    ro: 'Cheia USB a fost scoasă în timp ce era citită. Introduceți-o și încercați din nou.',
  },
  PKCS11_ERROR: {
    exit: EXIT.internal,
    en: 'The USB token driver reported an error.',
    ro: 'Driverul cheii USB a raportat o eroare.',
  },
  PKCS11_PIN_INCORRECT: {
    exit: EXIT.rejected,
    en: 'The PIN is wrong. Careful: after a few wrong tries the token locks and only your certificate provider can unlock it.',
    ro: 'PIN-ul este greșit. Atenție: după câteva încercări greșite cheia se blochează și doar furnizorul certificatului o poate debloca.',
  },
  PKCS11_PIN_LOCKED: {
    exit: EXIT.rejected,
    en: "The token's PIN is locked. Unlock it with the PUK or ask your certificate provider.",
    ro: 'PIN-ul cheii este blocat. Deblocați-l cu PUK-ul sau cereți ajutorul furnizorului certificatului.',
  },
  CERT_STORE_UNAVAILABLE: {
    exit: EXIT.notFound,
    en: 'The certificate store the browser uses could not be read here. The USB token can still be checked with "anaf-token certs".',
    ro: 'Depozitul de certificate folosit de browser nu a putut fi citit aici. Cheia USB poate fi verificată în continuare cu "anaf-token certs".',
  },
  CERT_NOT_FOUND: {
    exit: EXIT.notFound,
    en: 'That certificate is not on the token. See "anaf-token certs" for what is there.',
    ro: 'Certificatul nu este pe cheie. Vedeți "anaf-token certs" pentru ce conține.',
  },
  // ---- the team key and its invites (team/): issue 13
  TEAM_KEY_MISSING: {
    exit: EXIT.vault,
    en: 'This computer does not hold the team key. Ask a team member for an invite and run "anaf-token team join INVITE", or create a new team with "anaf-token team init".',
    ro: 'Acest calculator nu are cheia echipei. Cereți o invitație unui membru al echipei și rulați "anaf-token team join INVITAȚIE" sau creați o echipă nouă cu "anaf-token team init".',
  },
  TEAM_KEY_EXISTS: {
    exit: EXIT.usage,
    en: 'This computer already holds the key of a team (see "anaf-token team status"). Add --force only if you mean to replace it: this computer then loses access to the secrets of the old team.',
    ro: 'Acest calculator are deja cheia unei echipe (vedeți "anaf-token team status"). Adăugați --force doar dacă vreți să o înlocuiți: calculatorul pierde atunci accesul la secretele vechii echipe.',
  },
  TEAM_KEY_WRONG: {
    exit: EXIT.vault,
    en: 'The team key on this computer does not open this team store: it belongs to another team, or the store was altered. Check which store is in use ("anaf-token store status"), then join its team with a new invite.',
    ro: 'Cheia echipei de pe acest calculator nu deschide acest depozit al echipei: aparține altei echipe sau depozitul a fost modificat. Verificați ce depozit este folosit ("anaf-token store status"), apoi intrați în echipa lui cu o invitație nouă.',
  },
  TEAM_KEY_STORE_FAILED: {
    exit: EXIT.vault,
    en: "The team key could not be read from or written to this computer's key store (the detail says which and why). Check that the keychain is unlocked, or set ANAF_TOKEN_KEYSTORE=file, and try again.",
    ro: 'Cheia echipei nu a putut fi citită din sau scrisă în depozitul de chei al acestui calculator (detaliul spune care și de ce). Verificați că depozitul de chei (keychain) este deblocat sau setați ANAF_TOKEN_KEYSTORE=file și încercați din nou.',
  },
  INVITE_INVALID: {
    exit: EXIT.usage,
    en: 'This is not a valid team invite: it is incomplete, altered, or made for another team than the store in use. Copy the whole line again (it starts with "anaf-team:1:"); if it still fails, ask for a new invite. Nothing was used up.',
    ro: 'Aceasta nu este o invitație validă în echipă: este incompletă, modificată sau făcută pentru altă echipă decât depozitul folosit. Copiați din nou tot rândul (începe cu "anaf-team:1:"); dacă tot nu merge, cereți o invitație nouă. Nu s-a consumat nimic.',
  },
  INVITE_USED_OR_EXPIRED: {
    exit: EXIT.notFound,
    en: 'This invite was already used or has expired (an invite opens once, for a limited time). Ask a team member for a new one with "anaf-token team invite".',
    ro: 'Această invitație a fost deja folosită sau a expirat (o invitație se folosește o singură dată, pentru un timp limitat). Cereți unui membru al echipei una nouă cu "anaf-token team invite".',
  },
  INVITE_CODE_MALFORMED: {
    exit: EXIT.usage,
    en: 'The code is not in the right form: 11 letters and digits, as they were read to you (for example 7KQ2-M9XD-4TR). Check it and type it again; the invite was not used up.',
    ro: 'Codul nu are forma corectă: 11 litere și cifre, așa cum vi le-a citit colegul (de exemplu 7KQ2-M9XD-4TR). Verificați-l și introduceți-l din nou; invitația nu s-a consumat.',
  },
  INVITE_CODE_WRONG: {
    exit: EXIT.rejected,
    en: 'The code does not match this invite. The invite is now used up, since each one allows a single try so that nobody can guess its code: ask for a new invite and its new code.',
    ro: 'Codul nu se potrivește cu această invitație. Invitația s-a consumat, pentru că fiecare permite o singură încercare, ca nimeni să nu-i poată ghici codul: cereți o invitație nouă și codul ei nou.',
  },
  // ---- the team store (PostgreSQL, team/)
  STORE_UNAVAILABLE: {
    exit: EXIT.transient,
    en: 'The team store (the PostgreSQL server) cannot be reached. Nothing was changed; tokens already obtained are still served while they are valid. Check the network and that the server is running, then try again.',
    ro: 'Depozitul echipei (serverul PostgreSQL) nu poate fi contactat. Nu s-a modificat nimic; tokenurile deja obținute sunt servite în continuare cât timp sunt valabile. Verificați rețeaua și că serverul funcționează, apoi încercați din nou.',
  },
  STORE_ERROR: {
    exit: EXIT.vault,
    en: "The team store (the PostgreSQL server) refused the operation. Check that the database user may read and write the anaf-token tables, and see the server's log.",
    ro: 'Depozitul echipei (serverul PostgreSQL) a refuzat operația. Verificați că utilizatorul bazei de date poate citi și scrie tabelele anaf-token și consultați jurnalul serverului.',
  },
  STORE_NEWER: {
    exit: EXIT.vault,
    en: 'The team store was set up by a newer version of anaf-token. Update anaf-token on this machine.',
    ro: 'Depozitul echipei a fost configurat de o versiune mai nouă a anaf-token. Actualizați anaf-token pe acest calculator.',
  },
  TEAM_NOT_SET_UP: {
    exit: EXIT.vault,
    en: 'This database holds no anaf-token team yet. Create one with "anaf-token team init", or check the database address.',
    ro: 'Această bază de date nu conține încă o echipă anaf-token. Creați una cu "anaf-token team init" sau verificați adresa bazei de date.',
  },
  // ---- ANAF's e-Factura and e-Transport APIs (efactura/): issue 16. The detail carries ANAF's own text.
  ANAF_API_NOT_REACHED: {
    exit: EXIT.transient,
    en: "ANAF's e-Factura / e-Transport server could not be reached (network, DNS, TLS, or the connection dropped before the request was sent), so nothing was sent. Check the connection to api.anaf.ro and try again later.",
    ro: 'Serverul e-Factura / e-Transport al ANAF nu a putut fi contactat (rețea, DNS, TLS sau conexiunea s-a întrerupt înainte de trimiterea cererii), așa că nu s-a trimis nimic. Verificați conexiunea la api.anaf.ro și încercați din nou mai târziu.',
  },
  ANAF_API_ANSWER_LOST: {
    exit: EXIT.transient,
    en: 'The request reached ANAF but its answer was lost (the connection dropped or ANAF did not answer in time). An upload may have been accepted: look for it in the message list before sending it again.',
    ro: 'Cererea a ajuns la ANAF, dar răspunsul s-a pierdut (conexiunea s-a întrerupt sau ANAF nu a răspuns la timp). O încărcare poate să fi fost primită: căutați-o în lista de mesaje înainte de a o trimite din nou.',
  },
  ANAF_API_UNAVAILABLE: {
    exit: EXIT.transient,
    en: "ANAF's e-Factura / e-Transport server answered with a server error (HTTP 5xx): it is down or in maintenance. Try again later; an upload answered this way may still have been accepted, so look for it in the message list first.",
    ro: 'Serverul e-Factura / e-Transport al ANAF a răspuns cu o eroare de server (HTTP 5xx): este oprit sau în mentenanță. Încercați din nou mai târziu; o încărcare cu acest răspuns poate să fi fost totuși primită, așa că o căutați întâi în lista de mesaje.',
  },
  ANAF_API_FIREWALL: {
    exit: EXIT.transient,
    en: 'ANAF\'s firewall rejected the request with its "The requested URL was rejected" page, so ANAF did not process it. Try again in a few minutes; if it keeps happening for one file, something in the file trips the firewall: tell ANAF the support ID from the detail.',
    ro: 'Firewall-ul ANAF a respins cererea cu pagina "The requested URL was rejected", așa că ANAF nu a prelucrat-o. Încercați din nou peste câteva minute; dacă se repetă pentru același fișier, ceva din fișier declanșează firewall-ul: comunicați ANAF codul de suport (support ID) din detaliu.',
  },
  ANAF_API_RATE_LIMITED: {
    exit: EXIT.transient,
    en: 'ANAF refused the call: more than 1000 calls a minute were made with this application (HTTP 429). Wait a minute and try again; repeated abuse can get the application blocked.',
    ro: 'ANAF a refuzat apelul: s-au făcut peste 1000 de apeluri pe minut cu această aplicație (HTTP 429). Așteptați un minut și încercați din nou; depășirile repetate pot duce la blocarea aplicației.',
  },
  ANAF_API_DAILY_LIMIT: {
    exit: EXIT.transient,
    en: "ANAF's daily limit for this call is used up (per CIF or per message; the detail quotes ANAF). Try again tomorrow; asking again today only counts against the limit.",
    ro: 'Limita zilnică ANAF pentru acest apel este epuizată (pe CIF sau pe mesaj; detaliul citează ANAF). Încercați din nou mâine; o nouă cerere azi doar consumă din limită.',
  },
  ANAF_API_NO_SPV_RIGHT: {
    exit: EXIT.rejected,
    en: "ANAF says the certificate holder whose token was used has no right in SPV for this CIF (or for this message). Have the company's legal representative or an authorised person enroll the certificate in SPV for this CIF; rights appear about 24 hours after enrolment.",
    ro: 'ANAF spune că titularul certificatului cu al cărui token s-a făcut apelul nu are drept în SPV pentru acest CIF (sau pentru acest mesaj). Reprezentantul legal al firmei sau o persoană împuternicită trebuie să înroleze certificatul în SPV pentru acest CIF; drepturile apar la aproximativ 24 de ore după înrolare.',
  },
  ANAF_API_NOT_AUTHORIZED: {
    exit: EXIT.rejected,
    en: 'ANAF did not accept the access token for this call (HTTP 401/403). Refresh the token ("anaf-token refresh --profile <name>") and try once more; if it is still refused, authorize again with the USB key and check that the application in ANAF\'s portal has the e-Factura / e-Transport service.',
    ro: 'ANAF nu a acceptat tokenul de acces pentru acest apel (HTTP 401/403). Reîmprospătați tokenul ("anaf-token refresh --profile <nume>") și încercați o singură dată din nou; dacă tot este refuzat, autorizați din nou cu cheia USB și verificați că aplicația din portalul ANAF are serviciul e-Factura / e-Transport.',
  },
  ANAF_API_TOO_OLD: {
    exit: EXIT.rejected,
    en: 'ANAF keeps messages for 60 days: this one (or the start of the requested period) is older, so ANAF no longer gives it out. Ask for a period within the last 60 days; an older invoice must be obtained from its issuer.',
    ro: 'ANAF păstrează mesajele 60 de zile: acesta (sau începutul perioadei cerute) este mai vechi, așa că ANAF nu îl mai dă. Cereți o perioadă din ultimele 60 de zile; o factură mai veche se obține de la emitentul ei.',
  },
  ANAF_API_NOT_FOUND: {
    exit: EXIT.notFound,
    en: 'ANAF has no message with this id (upload index or download id). Check the id; right after an upload, ANAF may need a few minutes before it knows it.',
    ro: 'ANAF nu are niciun mesaj cu acest id (index de încărcare sau id de descărcare). Verificați id-ul; imediat după o încărcare, ANAF poate avea nevoie de câteva minute până îl cunoaște.',
  },
  ANAF_API_REFUSED: {
    exit: EXIT.rejected,
    en: 'ANAF refused the request (the detail quotes its reason, e.g. a file that is not valid or a wrong parameter). Correct what it names and send again; sending the same request unchanged gets the same answer.',
    ro: 'ANAF a refuzat cererea (detaliul citează motivul, de exemplu un fișier invalid sau un parametru greșit). Corectați ce indică și trimiteți din nou; aceeași cerere neschimbată primește același răspuns.',
  },
  ANAF_API_BAD_ANSWER: {
    exit: EXIT.transient,
    en: "ANAF's e-Factura / e-Transport server sent an answer that could not be understood (wrong format, or larger than expected). Try again later; a proxy or antivirus that inspects TLS can cause this.",
    ro: 'Serverul e-Factura / e-Transport al ANAF a trimis un răspuns care nu a putut fi înțeles (format greșit sau mai mare decât se aștepta). Încercați din nou mai târziu; un proxy sau un antivirus care inspectează TLS poate provoca asta.',
  },
  ANAF_API_ARCHIVE_INVALID: {
    exit: EXIT.transient,
    en: 'The ZIP archive downloaded from ANAF could not be unpacked safely (damaged, too large, unexpected files, or a file name that points outside its folder), so nothing from it was kept. Download it again later.',
    ro: 'Arhiva ZIP descărcată de la ANAF nu a putut fi despachetată în siguranță (deteriorată, prea mare, fișiere neașteptate sau un nume de fișier care iese din dosarul ei), așa că nu s-a păstrat nimic din ea. Descărcați-o din nou mai târziu.',
  },
  ANAF_API_FILE_TOO_LARGE: {
    exit: EXIT.usage,
    en: 'The file is larger than ANAF accepts (5 MB for e-Factura and e-Transport), so it was not sent. Reduce it (attachments inside the invoice are the usual cause) and send again.',
    ro: 'Fișierul este mai mare decât acceptă ANAF (5 MB pentru e-Factura și e-Transport), așa că nu a fost trimis. Micșorați-l (de obicei anexele din factură sunt cauza) și trimiteți din nou.',
  },
  // ---- request links (issue 12): asking the certificate holder from afar
  REQUEST_EXPIRED: {
    exit: EXIT.rejected,
    en: 'This request link (or its answer) has expired. Ask the person who sent it for a new one: `anaf-token request create`.',
    ro: 'Acest link de cerere (sau răspunsul lui) a expirat. Cereți persoanei care l-a trimis unul nou: `anaf-token request create`.',
  },
  REQUEST_USED: {
    exit: EXIT.rejected,
    en: 'This request was already answered and its answer imported: a request link works only once. Make a new request if another token is needed.',
    ro: 'Această cerere a primit deja răspuns și răspunsul a fost importat: un link de cerere funcționează o singură dată. Faceți o cerere nouă dacă e nevoie de alt token.',
  },
  REQUEST_CANCELLED: {
    exit: EXIT.rejected,
    en: 'This request was cancelled by its requester: its answer cannot be imported. Make a new request.',
    ro: 'Această cerere a fost anulată de cel care a făcut-o: răspunsul ei nu poate fi importat. Faceți o cerere nouă.',
  },
  REQUEST_NOT_FOUND: {
    exit: EXIT.notFound,
    en: 'There is no request with this id here. See `anaf-token request list`.',
    ro: 'Nu există aici nicio cerere cu acest id. Vedeți `anaf-token request list`.',
  },
  REQUEST_FOREIGN: {
    exit: EXIT.rejected,
    en: 'This answer is for a request that was not made here (another request, or another computer or user). Import it where the request was created.',
    ro: 'Acest răspuns este pentru o cerere care nu a fost făcută aici (altă cerere, sau alt calculator ori utilizator). Importați-l acolo unde a fost creată cererea.',
  },
  REQUEST_TAMPERED: {
    exit: EXIT.rejected,
    en: 'The request link or the answer is incomplete or was changed on the way, so it was refused. Copy it again whole (a mail program may cut long lines), or ask for a new one.',
    ro: 'Linkul de cerere sau răspunsul este incomplet ori a fost modificat pe drum, așa că a fost refuzat. Copiați-l din nou întreg (un program de e-mail poate tăia rândurile lungi) sau cereți unul nou.',
  },
  REQUEST_PASSPHRASE_WRONG: {
    exit: EXIT.rejected,
    en: 'The passphrase is missing or wrong. Ask the person who sent the link for it (by phone, not by mail).',
    ro: 'Parola lipsește sau este greșită. Cereți-o persoanei care a trimis linkul (la telefon, nu prin e-mail).',
  },
  REQUEST_PROFILE_CHANGED: {
    exit: EXIT.rejected,
    en: "The profile's server, client ID or callback URL changed after the request was made: the answer's tokens belong to the old ones, so they were not saved. Make a new request.",
    ro: 'Serverul, client ID-ul sau URL-ul de callback al profilului s-au schimbat după ce a fost făcută cererea: tokenurile din răspuns aparțin celor vechi, așa că nu au fost salvate. Faceți o cerere nouă.',
  },
  REQUEST_ANAF_REFUSED: {
    exit: EXIT.rejected,
    en: "ANAF refused the authorization or the exchange of its code (the detail quotes its reason). Check that the certificate is enrolled in SPV (rights appear about 24 hours after enrolment) and that the application's client ID and secret are right, then open the link again.",
    ro: 'ANAF a refuzat autorizarea sau schimbul codului (detaliul citează motivul). Verificați că certificatul este înrolat în SPV (drepturile apar la circa 24 de ore după înrolare) și că client ID-ul și secretul aplicației sunt corecte, apoi deschideți din nou linkul.',
  },
  REQUEST_KEY_UNREADABLE: {
    exit: EXIT.rejected,
    en: "This computer's request key (kept in the OS key store, DPAPI on Windows) cannot be read, so an answer cannot be opened here: the requests were copied from another computer or user, or the key was removed. Make a new request on this computer.",
    ro: 'Cheia de cereri a acestui calculator (păstrată în depozitul de chei al sistemului, DPAPI pe Windows) nu poate fi citită, așa că un răspuns nu poate fi deschis aici: cererile au fost copiate de pe alt calculator sau utilizator, ori cheia a fost ștearsă. Faceți o cerere nouă pe acest calculator.',
  },
  // The e-Factura / e-Transport gateway (native-host/src/gateway/).
  GATEWAY_LIMIT_DEFERRED: {
    exit: EXIT.transient,
    en: 'ANAF allows 1000 API calls a minute and this call would pass that count, so it was not sent. It can be made again in a few seconds (see Retry-After); queued uploads are sent by themselves.',
    ro: 'ANAF permite 1000 de apeluri API pe minut, iar acest apel ar depăși numărul, așa că nu a fost trimis. Poate fi făcut din nou peste câteva secunde (vezi Retry-After); încărcările din coadă se trimit singure.',
  },
  GATEWAY_DAILY_LIMIT: {
    exit: EXIT.transient,
    en: "This call would pass one of ANAF's daily limits (status 100 a message, download 10 a message, simple list 1500 a CIF, RASP uploads 1000 a CIF), so it was not sent: ANAF may block the user or the application for that. It can be made again after midnight, Romanian time.",
    ro: 'Acest apel ar depăși una dintre limitele zilnice ale ANAF (stare 100 pe mesaj, descărcare 10 pe mesaj, listă simplă 1500 pe CIF, încărcări RASP 1000 pe CIF), așa că nu a fost trimis: ANAF poate bloca utilizatorul sau aplicația pentru asta. Poate fi făcut din nou după miezul nopții, ora României.',
  },
  GATEWAY_JOB_NOT_FOUND: {
    exit: EXIT.notFound,
    en: 'No upload with this id is known here. Use the job id the upload answered with.',
    ro: 'Nu se cunoaște aici nicio încărcare cu acest id. Folosiți id-ul de job primit la încărcare.',
  },
  GATEWAY_API_NOT_SET: {
    exit: EXIT.usage,
    en: "The profile's OAuth server is not ANAF's, so where its e-Factura / e-Transport API is cannot be guessed. Set it with `anaf-token efactura api --profile NAME URL` (or `profile add … --api URL`).",
    ro: 'Serverul OAuth al profilului nu este al ANAF, așa că adresa API-ului e-Factura / e-Transport nu poate fi dedusă. Setați-o cu `anaf-token efactura api --profile NUME URL` (sau `profile add … --api URL`).',
  },
  GATEWAY_WEBHOOK_REFUSED: {
    exit: EXIT.usage,
    en: 'The webhook must be an http:// address on this computer (127.0.0.1, ::1 or localhost): job changes are not sent anywhere else.',
    ro: 'Webhook-ul trebuie să fie o adresă http:// pe acest calculator (127.0.0.1, ::1 sau localhost): modificările joburilor nu se trimit în altă parte.',
  },
  GATEWAY_JOBS_OPEN: {
    exit: EXIT.rejected,
    en: "Uploads are still on their way in the e-Factura / e-Transport gateway of the store in use (queued, sending or waiting for ANAF's answer), so the store was not moved: they would be left behind. Let them finish (`anaf-token efactura list`), stop `serve` (it could queue new ones during the move), then move the store.",
    ro: 'Încă sunt încărcări pe drum în gateway-ul e-Factura / e-Transport al depozitului folosit (în coadă, în trimitere sau în așteptarea răspunsului ANAF), așa că depozitul nu a fost mutat: ar rămâne în urmă. Lăsați-le să se termine (`anaf-token efactura list`), opriți `serve` (ar putea pune altele în coadă în timpul mutării), apoi mutați depozitul.',
  },
} satisfies Catalogue;

export type ErrorCode = keyof typeof catalogue;
export const ERROR_CODES = Object.keys(catalogue) as [ErrorCode, ...ErrorCode[]];
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${catalogue[code].en} (${detail})` : catalogue[code].en, options);
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
  }

  get exitCode(): number {
    return catalogue[this.code].exit;
  }

  get messageRo(): string {
    return catalogue[this.code].ro;
  }

  toPayload(): ErrorPayload {
    const { en, ro } = catalogue[this.code];
    return this.detail === undefined ? { code: this.code, message: { en, ro } } : { code: this.code, message: { en, ro }, detail: this.detail };
  }

  static fromPayload(p: ErrorPayload): AppError {
    return new AppError(p.code, p.detail);
  }

  /**
   * Any failure as an AppError: itself when it is one, else `fallback` with the error's name as
   * its detail, or what `describe` makes of it. The foreign error's message only through
   * `describe`, which must bound and redact it: it may quote anything (a URL, a token).
   */
  static from(e: unknown, fallback: ErrorCode = 'INTERNAL', describe?: (e: Error) => string | undefined): AppError {
    if (e instanceof AppError) return e;
    const detail = e instanceof Error ? (describe ? describe(e) : e.name) : undefined;
    return new AppError(fallback, detail, { cause: e });
  }
}

export function messagesFor(code: ErrorCode): { en: string; ro: string; exit: number } {
  return catalogue[code];
}
