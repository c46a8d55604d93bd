/** How ANAF's e-Factura / e-Transport answers are read: texts, statuses, XML, endpoints, arguments. */
import { describe, expect, it } from 'vitest';
import { AppError } from '#shared/errors.js';
import { anafRefusal, anafText, httpFailure, uploadOutcomeUnknown } from '../../native-host/src/efactura/answers.js';
import { checkDocument, MAX_UPLOAD_BYTES, normalizeCif } from '../../native-host/src/efactura/call.js';
import { apiEndpoints } from '../../native-host/src/efactura/endpoints.js';
import { headerOf } from '../../native-host/src/efactura/header.js';
import { errorMessages, parseXml } from '../../native-host/src/efactura/xml.js';
import type { WireAnswer } from '../../native-host/src/efactura/wire.js';

const answer = (status: number, body: string, mediaType = 'application/json', headers: Record<string, string> = {}): WireAnswer => ({
  status,
  mediaType,
  headers,
  body: Buffer.from(body),
});

describe("ANAF's refusal texts", () => {
  it.each([
    ['Nu aveti drept in SPV pentru CIF=12345678', 'ANAF_API_NO_SPV_RIGHT'],
    ['Nu exista niciun CIF pentru care sa aveti drept in SPV', 'ANAF_API_NO_SPV_RIGHT'],
    ['Nu exista niciun CIF petru care sa aveti drept in SPV', 'ANAF_API_NO_SPV_RIGHT'],
    ['Nu aveti dreptul de inteorgare pentru id_incarcare= 18', 'ANAF_API_NO_SPV_RIGHT'],
    ['S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei', 'ANAF_API_DAILY_LIMIT'],
    ['S-au facut deja 20 descarcari de mesaj in cursul zilei', 'ANAF_API_DAILY_LIMIT'],
    ['S-au facut deja 10 descarcari la mesajul cu id_descarcare=3001 in cursul zilei', 'ANAF_API_DAILY_LIMIT'],
    ['Fisierul nu mai poate fi descarcat pentru ca a trecut perioada de 60 de zile in care este disponibil', 'ANAF_API_TOO_OLD'],
    ['startTime = 1 nu poate fi mai vechi de 60 de zile fata de momentul requestului', 'ANAF_API_TOO_OLD'],
    ['Nu exista factura cu id_incarcare= 5000', 'ANAF_API_NOT_FOUND'],
    ['Pentru id=3001 nu exista inregistrata nici o factura', 'ANAF_API_NOT_FOUND'],
    ['Fisierul transmis nu este valid. cvc-elt.1.a', 'ANAF_API_REFUSED'],
    ['Numarul de zile trebuie sa fie intre 1 si 60', 'ANAF_API_REFUSED'],
    ['A aparut o eroare tehnica. Cod: 1814', 'ANAF_API_REFUSED'],
    ['Limita de 1000 de apeluri pe minut a fost depasita', 'ANAF_API_RATE_LIMITED'],
  ] as const)('"%s" is %s', (text, code) => {
    const e = anafRefusal('x', [text]);
    expect(e.code).toBe(code);
    expect(e.detail).toContain(text);
  });

  it("keeps ANAF's words readable and cuts what could be a token", () => {
    expect(anafText('CIF=123\u0000\nid=4')).toBe('CIF=123 id=4');
    const jwt = `eyJhbGciOiJSUzUxMiJ9.${'a'.repeat(60)}.${'b'.repeat(60)}`;
    expect(anafText(`bad token ${jwt} here`)).toBe('bad token … here');
    expect(anafText('x'.repeat(20) + ' ' + 'y'.repeat(500))!.length).toBeLessThanOrEqual(300);
  });
});

describe('HTTP statuses', () => {
  it('401/403 are not authorized, with the Bearer error; 429 rate limited; 5xx unavailable; 4xx refused', () => {
    const e401 = httpFailure(answer(401, '', 'text/plain', { 'www-authenticate': 'Bearer error="invalid_token"' }), 'w')!;
    expect([e401.code, e401.detail]).toEqual(['ANAF_API_NOT_AUTHORIZED', 'w: ANAF answered 401 invalid_token']);
    expect(httpFailure(answer(403, '{"status":403,"error":"Forbidden","message":"Access is denied"}'), 'w')?.code).toBe('ANAF_API_NOT_AUTHORIZED');
    expect(httpFailure(answer(429, '', 'text/plain', { 'retry-after': '60' }), 'w')?.detail).toContain('retry after 60 s');
    expect(httpFailure(answer(503, '<html/>', 'text/html'), 'w')?.code).toBe('ANAF_API_UNAVAILABLE');
    const bad = httpFailure(answer(400, '{"timestamp":"x","status":400,"error":"Bad Request","message":"Parametrul id este obligatoriu"}'), 'w')!;
    expect([bad.code, bad.detail]).toEqual(['ANAF_API_REFUSED', 'w: ANAF answered 400: Parametrul id este obligatoriu']);
    expect(httpFailure(answer(302, '', '', { location: 'https://api.anaf.ro/my.policy?x=secret' }), 'w')?.detail).toBe(
      'w: ANAF answered 302, a redirect to /my.policy',
    );
    expect(httpFailure(answer(200, '<header/>', 'application/xml'), 'w')).toBeUndefined();
  });

  it("the firewall's page with HTTP 200 is ANAF_API_FIREWALL, its support ID kept", () => {
    const page =
      '<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your administrator.<br><br>Your support ID is: 14828432019452839745</body></html>';
    const e = httpFailure(answer(200, page, 'text/html'), 'w')!;
    expect([e.code, e.detail]).toEqual(['ANAF_API_FIREWALL', 'w: "The requested URL was rejected" (support ID 14828432019452839745)']);
  });

  it('say which failures may hide an accepted upload', () => {
    expect(uploadOutcomeUnknown(new AppError('ANAF_API_ANSWER_LOST'))).toBe(true);
    expect(uploadOutcomeUnknown(new AppError('ANAF_API_UNAVAILABLE'))).toBe(true);
    expect(uploadOutcomeUnknown(new AppError('ANAF_API_NOT_REACHED'))).toBe(false);
    expect(uploadOutcomeUnknown(new AppError('ANAF_API_FIREWALL'))).toBe(false);
    expect(uploadOutcomeUnknown(new AppError('ANAF_API_REFUSED'))).toBe(false);
  });
});

describe('XML answers', () => {
  it('reads the header, its attributes and every Errors message, whatever the namespace', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<ns2:header xmlns:ns2="mfp:anaf:dgti:spv:respUploadFisier:v1" ExecutionStatus="1"><ns2:Errors errorMessage="Fi&#x219;ierul &quot;a&quot; &amp; b"/><ns2:Errors errorMessage="doi"/></ns2:header>',
      'w',
    );
    expect(root.name).toBe('header');
    expect(root.attrs.ExecutionStatus).toBe('1');
    expect(errorMessages(root)).toEqual(['Fișierul "a" & b', 'doi']);
  });

  it('takes a JSON eroare where ANAF usually answers an XML header, and refuses an XML header with ExecutionStatus 1 and no message', () => {
    const json = answer(200, '{"eroare":"S-au facut deja 100 interogari de stare pentru mesajul cu id_incarcare= 5 in cursul zilei","titlu":"Stare mesaj"}');
    expect(() => headerOf(json, 'w')).toThrow(expect.objectContaining({ code: 'ANAF_API_DAILY_LIMIT' }));
    expect(() => headerOf(answer(200, '<header ExecutionStatus="1"/>', 'application/xml'), 'w')).toThrow(expect.objectContaining({ code: 'ANAF_API_REFUSED' }));
    expect(() => headerOf(answer(200, '<Invoice/>', 'application/xml'), 'w')).toThrow(expect.objectContaining({ code: 'ANAF_API_BAD_ANSWER' }));
    expect(headerOf(answer(200, '<header stare="ok" id_descarcare="1"/>', 'text/xml'), 'w').attrs).toEqual({ stare: 'ok', id_descarcare: '1' });
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "aaaa">]><header a="&a;"/>', 'DOCTYPE'],
    ['two roots', '<header/><header/>', '2 root elements'],
    ['broken XML', '<header><Errors></header>', 'not well-formed'],
    ['no element', '<?xml version="1.0"?>', 'not well-formed'],
  ])('refuses %s', (_what, xml, said) => {
    let err: unknown;
    try {
      parseXml(xml, 'w');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ANAF_API_BAD_ANSWER');
    expect((err as AppError).detail).toContain(said);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => parseXml(Buffer.from([0x3c, 0x61, 0xff, 0x2f, 0x3e]), 'w')).toThrow(/UTF-8/);
  });
});

describe('endpoints and arguments', () => {
  it("prod and test are ANAF's; validare and transformare live on webservicesp prod; an https URL stands for both", () => {
    expect(apiEndpoints('test')).toEqual({
      efactura: 'https://api.anaf.ro/test/FCTEL/rest',
      etransport: 'https://api.anaf.ro/test/ETRANSPORT/ws/v1',
      publicEfactura: 'https://webservicesp.anaf.ro/prod/FCTEL/rest',
    });
    expect(apiEndpoints('prod').efactura).toBe('https://api.anaf.ro/prod/FCTEL/rest');
    expect(apiEndpoints('https://127.0.0.1:8443/test/')).toEqual({
      efactura: 'https://127.0.0.1:8443/test/FCTEL/rest',
      etransport: 'https://127.0.0.1:8443/test/ETRANSPORT/ws/v1',
      publicEfactura: 'https://127.0.0.1:8443/test/FCTEL/rest',
    });
    for (const bad of ['http://127.0.0.1/test', 'https://h/x?a=1', 'https://u:p@h/x', 'staging']) expect(() => apiEndpoints(bad), bad).toThrow(AppError);
  });

  it('normalises a CIF as ANAF wants it', () => {
    expect(normalizeCif(' RO 12345678')).toBe('12345678');
    expect(normalizeCif('ro1234')).toBe('1234');
    expect(normalizeCif('1800101123456')).toBe('1800101123456');
    for (const bad of ['', 'RO', '1', '12345678901234', '12 34', 'DE123456']) expect(() => normalizeCif(bad), bad).toThrow(AppError);
  });

  it('refuses an empty file and one over 5,000,000 bytes', () => {
    expect(() => checkDocument('')).toThrow(/empty/);
    expect(checkDocument(Buffer.alloc(MAX_UPLOAD_BYTES, 0x20)).byteLength).toBe(MAX_UPLOAD_BYTES);
    let e: unknown;
    try {
      checkDocument(Buffer.alloc(MAX_UPLOAD_BYTES + 1));
    } catch (x) {
      e = x;
    }
    expect((e as AppError).code).toBe('ANAF_API_FILE_TOO_LARGE');
  });
});
