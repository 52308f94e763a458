// createAuthenticator: the one place tokens are verified. HS256 with a secret; RS256/ES256 against a
// JWKS served here by a loopback HTTP server; pinned algorithms, required claims, issuer, audience.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, signAccessToken, type Authenticate } from '../../src/auth/viewer.js';

const SECRET = 'unit-test-secret-that-is-at-least-32-characters';
const USER_ID = '6f1c2a4e-8b7d-4c3a-9e21-5d0b7f3a9c11';
const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const bearer = (token: string) => `Bearer ${token}`;

const INVALID = { kind: 'invalid' };
const ANONYMOUS = { kind: 'anonymous' };
const user = (isSuperuser = false) => ({ kind: 'user', id: USER_ID, isSuperuser });

describe('createAuthenticator', () => {
  it('needs a secret or a JWKS URL', () => {
    expect(() => createAuthenticator({ clockToleranceSeconds: 5 })).toThrow(/secret or a JWKS URL/);
  });
});

describe('createAuthenticator with an HS256 secret', () => {
  const authenticate = createAuthenticator({ jwtSecret: SECRET, clockToleranceSeconds: 5 });
  const key = new TextEncoder().encode(SECRET);
  const hs256 = (claims: Record<string, unknown> = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' });

  it('accepts a valid token: sub is the user id, is_superuser only when the boolean true', async () => {
    expect(await authenticate(bearer(await signAccessToken(SECRET, { sub: USER_ID })))).toMatchObject(user());
    expect(await authenticate(bearer(await signAccessToken(SECRET, { sub: USER_ID, isSuperuser: true })))).toMatchObject(user(true));
    for (const flag of ['true', 1, 'yes']) {
      const token = await hs256({ is_superuser: flag }).setSubject(USER_ID).setExpirationTime('1h').sign(key);
      expect(await authenticate(bearer(token))).toMatchObject(user(false));
    }
  });

  it('reads the Bearer scheme case-insensitively, anything else is anonymous', async () => {
    const token = await signAccessToken(SECRET, { sub: USER_ID });
    expect(await authenticate(`bearer ${token}`)).toMatchObject(user());
    expect(await authenticate(`BEARER  ${token} `)).toMatchObject(user());
    expect(await authenticate(undefined)).toEqual(ANONYMOUS);
    expect(await authenticate('')).toEqual(ANONYMOUS);
    expect(await authenticate('Bearer')).toEqual(ANONYMOUS);
    expect(await authenticate(`Basic ${token}`)).toEqual(ANONYMOUS);
    expect(await authenticate(token)).toEqual(ANONYMOUS);
  });

  it.each<[string, () => Promise<string>]>([
    ['a malformed token', async () => 'abc.def'],
    [
      'an expired token',
      () =>
        hs256()
          .setSubject(USER_ID)
          .setExpirationTime(now() - 3600)
          .sign(key),
    ],
    ['a token without exp', () => hs256().setSubject(USER_ID).sign(key)],
    ['a token without sub', () => hs256().setExpirationTime('1h').sign(key)],
    ['a token with an empty sub', () => hs256().setSubject('').setExpirationTime('1h').sign(key)],
    [
      'a token whose nbf is in the future',
      () =>
        hs256()
          .setSubject(USER_ID)
          .setNotBefore(now() + 3600)
          .setExpirationTime(now() + 7200)
          .sign(key),
    ],
    ['a token signed with another secret', () => signAccessToken('another-secret-of-at-least-32-characters!', { sub: USER_ID })],
    [
      'an HS512 token with the right secret',
      () => new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject(USER_ID).setExpirationTime('1h').sign(key),
    ],
    [
      'an unsigned token (alg none)',
      async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: USER_ID, exp: now() + 3600, is_superuser: true })}.`,
    ],
    [
      'a valid token whose payload was altered',
      async () => {
        const [header, , signature] = (await signAccessToken(SECRET, { sub: USER_ID })).split('.');
        return `${header}.${base64url({ sub: USER_ID, exp: now() + 3600, is_superuser: true })}.${signature}`;
      },
    ],
  ])('rejects %s as invalid', async (_case, makeToken) => {
    expect(await authenticate(bearer(await makeToken()))).toEqual(INVALID);
  });

  it('allows the configured clock tolerance on exp, and no more', async () => {
    const lenient = createAuthenticator({ jwtSecret: SECRET, clockToleranceSeconds: 600 });
    const expiredAMinuteAgo = await hs256()
      .setSubject(USER_ID)
      .setExpirationTime(now() - 60)
      .sign(key);
    expect(await lenient(bearer(expiredAMinuteAgo))).toMatchObject(user());
    expect(await authenticate(bearer(expiredAMinuteAgo))).toEqual(INVALID);
  });

  describe('with issuer and audience', () => {
    const strict = createAuthenticator({ jwtSecret: SECRET, issuer: 'https://id.example', audience: 'graphs', clockToleranceSeconds: 5 });

    it('accepts a token with both', async () => {
      expect(
        await strict(bearer(await signAccessToken(SECRET, { sub: USER_ID, issuer: 'https://id.example', audience: 'graphs' }))),
      ).toMatchObject(user());
      const audiences = await hs256()
        .setSubject(USER_ID)
        .setIssuer('https://id.example')
        .setAudience(['other', 'graphs'])
        .setExpirationTime('1h')
        .sign(key);
      expect(await strict(bearer(audiences))).toMatchObject(user());
    });

    it.each([
      ['another issuer', { issuer: 'https://evil.example', audience: 'graphs' }],
      ['another audience', { issuer: 'https://id.example', audience: 'other' }],
      ['no issuer', { audience: 'graphs' }],
      ['no audience', { issuer: 'https://id.example' }],
    ])('rejects a token with %s', async (_case, claims) => {
      expect(await strict(bearer(await signAccessToken(SECRET, { sub: USER_ID, ...claims })))).toEqual(INVALID);
    });
  });
});

describe('createAuthenticator with a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let jwksRequests = 0;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let impostor: { privateKey: CryptoKey; publicKey: CryptoKey };
  let rsaPublicJwk: JWK;
  let authenticate: Authenticate;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    impostor = await generateKeyPair('RS256');
    rsaPublicJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    const keys = [rsaPublicJwk, { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }];
    server = createServer((req, res) => {
      jwksRequests++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    authenticate = createAuthenticator({ jwksUrl, issuer: 'https://id.example', audience: 'graphs', clockToleranceSeconds: 5 });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  const signed = (alg: string, kid: string, claims: Record<string, unknown> = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setSubject(USER_ID)
      .setIssuer('https://id.example')
      .setAudience('graphs');

  it('accepts an RS256 token signed with a key of the set', async () => {
    expect(await authenticate(bearer(await signed('RS256', 'rsa-1').setExpirationTime('1h').sign(rsa.privateKey)))).toMatchObject(user());
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('accepts an ES256 token signed with a key of the set, and its superuser claim', async () => {
    const token = await signed('ES256', 'ec-1', { is_superuser: true }).setExpirationTime('1h').sign(ec.privateKey);
    expect(await authenticate(bearer(token))).toMatchObject(user(true));
  });

  it.each<[string, () => Promise<string>]>([
    [
      'an RS256 token signed with a key outside the set, under a known kid',
      () => signed('RS256', 'rsa-1').setExpirationTime('1h').sign(impostor.privateKey),
    ],
    ['an RS256 token naming an unknown kid', () => signed('RS256', 'rsa-unknown').setExpirationTime('1h').sign(impostor.privateKey)],
    ['an RS256 token without exp', () => signed('RS256', 'rsa-1').sign(rsa.privateKey)],
    [
      'an expired RS256 token',
      () =>
        signed('RS256', 'rsa-1')
          .setExpirationTime(now() - 3600)
          .sign(rsa.privateKey),
    ],
    [
      'an RS256 token whose nbf is in the future',
      () =>
        signed('RS256', 'rsa-1')
          .setNotBefore(now() + 3600)
          .setExpirationTime(now() + 7200)
          .sign(rsa.privateKey),
    ],
    [
      'an RS256 token from another issuer',
      () => signed('RS256', 'rsa-1').setIssuer('https://evil.example').setExpirationTime('1h').sign(rsa.privateKey),
    ],
    [
      'an RS256 token for another audience',
      () => signed('RS256', 'rsa-1').setAudience('other').setExpirationTime('1h').sign(rsa.privateKey),
    ],
    [
      'an HS256 token keyed with the public key in PEM (algorithm confusion)',
      async () =>
        signed('HS256', 'rsa-1')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(await exportSPKI(rsa.publicKey))),
    ],
    [
      'an HS256 token keyed with the public JWK (algorithm confusion)',
      () =>
        signed('HS256', 'rsa-1')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(JSON.stringify(rsaPublicJwk))),
    ],
    ['an HS256 token with any secret', () => signed('HS256', 'rsa-1').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET))],
    [
      'an unsigned token (alg none)',
      async () =>
        `${base64url({ alg: 'none', kid: 'rsa-1' })}.${base64url({ sub: USER_ID, iss: 'https://id.example', aud: 'graphs', exp: now() + 3600 })}.`,
    ],
  ])('rejects %s', async (_case, makeToken) => {
    expect(await authenticate(bearer(await makeToken()))).toEqual(INVALID);
  });

  it('answers invalid, not an exception, when the JWKS cannot be fetched', async () => {
    const unreachable = createAuthenticator({ jwksUrl: `${jwksUrl}.missing`, clockToleranceSeconds: 5 });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setSubject(USER_ID)
      .setExpirationTime('1h')
      .sign(rsa.privateKey);
    expect(await unreachable(bearer(token))).toEqual(INVALID);
  });
});
