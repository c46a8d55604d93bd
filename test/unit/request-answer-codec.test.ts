/**
 * The answer's packing (shared/src/request/answer-codec.ts): exact round trips, and small enough
 * for a QR code with tokens shaped like ANAF's (RS512, the claims of ../shared/anaf-facts.md).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { packAnswer, unpackAnswer } from '#shared/request/answer-codec.js';
import { checkRequestLink, createRequest, openAnswer, sealAnswer } from '#shared/request/crypto.js';
import { answerPlainSchema, joinLink, type AnswerPlain } from '#shared/request/format.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAA';

async function anafLikeTokens(modulusLength: number) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength });
  const now = Math.floor(Date.now() / 1000);
  const clientappid = randomBytes(24).toString('hex');
  const make = () =>
    new SignJWT({
      sub: '1a2b3c4d5e6f7081',
      clientappid,
      serial: '1a:2b:3c:4d:5e:6f:70:81',
      issuer: 'DigiSign Qualified CA Class 3 2017',
      roles: 'HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA',
      scope: 'clientappid info issuer role serial',
      token_type: 'Bearer',
      iss: 'https://logincert.anaf.ro',
      iat: now,
      nbf: now,
      exp: now + 90 * 86_400,
      jti: randomBytes(16).toString('hex'),
    })
      .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: 'anaf_2023_2024' })
      .sign(privateKey);
  return { access_token: await make(), refresh_token: await make(), expires_in: 7_776_000, token_type: 'Bearer' };
}

const plainWith = (tok: AnswerPlain['tok']): AnswerPlain => ({ v: 1, id: ID, st: 's'.repeat(43), at: Date.now(), tok });

describe('answer packing', () => {
  it('gives back the very same tokens, and is smaller than the tokens alone', async () => {
    const tok = await anafLikeTokens(2048);
    const plain = plainWith(tok);
    const packed = await packAnswer(plain);
    expect(packed.length).toBeLessThan(tok.access_token.length + tok.refresh_token.length);
    expect(answerPlainSchema().parse(await unpackAnswer(packed))).toEqual(plain);
  });

  it('carries a token that is not a canonical JWT as it came', async () => {
    for (const odd of [
      'opaque-legacy-token',
      'a.b',
      'eyJhIjoxfQ.eyJiIjoy.c',
      'eyJhIjoxfR.eyJiIjoyfQ.sig',
      `${Buffer.from([0xff, 0xfe]).toString('base64url')}.e30.x`,
    ]) {
      const plain = plainWith({ access_token: odd, refresh_token: `${odd}-r` });
      expect(answerPlainSchema().parse(await unpackAnswer(await packAnswer(plain)))).toEqual(plain);
    }
  });

  it('refuses a packed plaintext that inflates far beyond an answer', async () => {
    const bomb = new Uint8Array(
      await new Response(new Blob([new Uint8Array(1024 * 1024)]).stream().pipeThrough(new CompressionStream('deflate-raw'))).arrayBuffer(),
    );
    expect(bomb.length).toBeLessThan(2048);
    await expect(unpackAnswer(bomb)).rejects.toMatchObject({ code: 'REQUEST_TAMPERED' });
    expect(await unpackAnswer(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
  });

  it("an answer with tokens shaped like ANAF's (RS512 with a 4096-bit key) fits in one QR code", async () => {
    const made = await createRequest({
      env: 'https://logincert.anaf.ro',
      clientId: randomBytes(24).toString('hex'),
      redirectUri: 'https://erp.example.ro/anaf/cb',
      clientSecret: randomBytes(32).toString('hex'),
      expiresAt: Date.now() + 3_600_000,
    });
    const req = await checkRequestLink(joinLink('chrome-extension://abc', made.parts), Date.now());
    const tok = await anafLikeTokens(4096);
    const answer = await sealAnswer(req.body, made.keys.state, tok, Date.now());
    console.info(`tokens ${tok.access_token.length + tok.refresh_token.length} characters → answer ${answer.length} characters`);
    // 2,953 bytes is a QR code's most (version 40, level L); the page keeps a margin (QR_MAX_CHARS).
    expect(answer.length).toBeLessThanOrEqual(2_800);
    expect((await openAnswer(answer, made.keys)).tok).toEqual(tok);
  });
});
