// Request hardening at the HTTP layer: security headers, CORS off unless configured, the body
// size limit, and internal errors answered without internals.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { insertGraph } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

describe('HTTP hardening', () => {
  let service: TestService;
  let token: string;
  beforeAll(async () => {
    service = await startTestService('pglite', { env: { MAX_BODY_BYTES: '2048' } });
    token = await service.token(randomUUID());
    await insertGraph(service.prisma, { slug: 'default', isDefault: true });
  });
  afterAll(() => service?.close());

  it.each([
    ['REST 200', '/api/v1/graphs/default/migrations'],
    ['REST 404', '/api/v1/graphs/nope/migrations'],
    ['unknown path', '/nope'],
    ['readiness', '/readyz'],
    ['GraphQL', `/graphql?query=${encodeURIComponent('{__typename}')}`],
  ])('sends the security headers on every answer (%s), and no CORS grant by default', async (_name, path) => {
    const response = await fetch(`${service.url}${path}`, {
      headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example', 'apollo-require-preflight': 'true' },
    });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(response.headers.get(name), name).toBe(value);
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(4096) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ detail: 'Request body larger than 2048 bytes (MAX_BODY_BYTES)' });
  });

  it('answers an internal failure as 500 {"detail":"Internal Server Error"} without internals', async () => {
    // A broken database client (not an outage): every query throws a plain programming error.
    const database = service.service.database;
    const original = database.query;
    database.query = () => Promise.reject(new Error('boom at /work/main/src/data/graphs.ts:42 SELECT * FROM graphs'));
    try {
      const rest = await fetch(`${service.url}/api/v1/graphs/default/migrations`, { headers: { authorization: `Bearer ${token}` } });
      expect(rest.status).toBe(500);
      expect(await rest.text()).toBe('{"detail":"Internal Server Error"}');
      const graphql = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ graph(slug: "default") { id } }' }),
      });
      const body = await graphql.text();
      expect(JSON.parse(body).errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(body).not.toMatch(/boom|graphs\.ts|SELECT/);
    } finally {
      database.query = original;
    }
  });
});

describe('CORS when configured', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService('pglite', { env: { CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' } });
  });
  afterAll(() => service?.close());

  it('grants listed origins, answers their preflight, and ignores others', async () => {
    const preflight = await fetch(`${service.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const other = await fetch(`${service.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toBe('Origin');
  });

  it('rejects a malformed CORS_ORIGINS, and a headers timeout above the request timeout', () => {
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path', HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /CORS_ORIGINS="https:\/\/app.example.com\/path": must be \*[\s\S]*HEADERS_TIMEOUT_MS \(40000\) must not exceed REQUEST_TIMEOUT_MS \(30000\)/,
    );
  });
});
