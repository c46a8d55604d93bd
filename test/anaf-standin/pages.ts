// HTML bodies the stand-in answers with where ANAF answers with a page rather than JSON.
// They never echo request input, so nothing a test sends can end up in them.

function page(title: string, text: string): string {
  return (
    '<!DOCTYPE html>\n<html lang="ro"><head><meta charset="utf-8"><title>' +
    title +
    '</title></head>\n<body><h1>' +
    title +
    '</h1><p>' +
    text +
    '</p></body></html>\n'
  );
}

export const ACCESS_DENIED_PAGE = page('Access denied', 'Access denied. Certificatul digital nu a fost prezentat sau nu este valid.');

export const UNKNOWN_CLIENT_PAGE = page('OAuth Error', 'error=invalid_client: unknown client_id.');

export const REDIRECT_MISMATCH_PAGE = page(
  'OAuth Error',
  'error=invalid_request: redirect_uri mismatch. The redirect_uri does not match the callback URL registered for this client_id.',
);

export const NOT_FOUND_PAGE = page('404 Not Found', 'Not Found');
export const METHOD_NOT_ALLOWED_PAGE = page('405 Method Not Allowed', 'Method Not Allowed');
export const TOO_LARGE_PAGE = page('413 Request Entity Too Large', 'Request Entity Too Large');
export const SERVER_ERROR_PAGE = page('500 Internal Server Error', 'Internal Server Error');

/** Shape of a gateway error page, as a reverse proxy in front of ANAF would send. */
export function faultPage(status: number): string {
  return page(`${status} Error`, `The server answered with HTTP ${status}.`);
}

/**
 * What ANAF's F5 APM front shows at /my.policy: a login wall for browsers, never an OAuth
 * answer. Reached by the 302 that revoke and unknown paths get in the anaf dialect.
 */
export const LOGIN_WALL_PAGE = page('Autentificare', 'Sesiunea a expirat sau nu este valid&#259;. Pentru a continua, autentifica&#539;i-v&#259; din nou.');

/**
 * The F5 WAF rejection page ANAF's API front sometimes serves, with HTTP 200, for a request
 * that was valid. The support ID is random, like the real one, so clients must not match on it.
 */
export function wafPage(supportId: string): string {
  return (
    '<html><head><title>Request Rejected</title></head><body>' +
    'The requested URL was rejected. Please consult with your administrator.<br><br>' +
    `Your support ID is: ${supportId}<br><br>` +
    "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
  );
}
